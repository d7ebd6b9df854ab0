"""The names the file stores write and accept: one rule, legal on Windows as on Linux.

A stem is 1 to 72 ASCII letters, digits, '-' or '_', starting with a letter or a digit,
and not a name Windows reserves for a device (CON, PRN, AUX, NUL, COM0-9, LPT0-9), which
Windows would open instead of a file whatever the extension. A job's record is
`<job id>.json` and its images `<job id>.png` or `<job id>-<n>.png` (`Job.image_names`);
job ids are 32 hex digits, so every name fits with room to spare. No character is one
Windows forbids, no name ends in a dot or a space, and the longest path under the default
data folder stays far from Windows' 260-character limit (a test checks it).
"""

from __future__ import annotations

import re

_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,71}")
_WINDOWS_DEVICE = re.compile(r"CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9]", re.IGNORECASE)


def is_stem(stem: str) -> bool:
    """True for a job id, or an image name without its `.png`."""
    return _STEM.fullmatch(stem) is not None and _WINDOWS_DEVICE.fullmatch(stem) is None


def is_image_name(name: str) -> bool:
    stem, dot, extension = name.rpartition(".")
    return dot == "." and extension == "png" and is_stem(stem)
