"""AUTOMATIC1111's infotext (a PNG's `parameters` text) read back into fields, as its
`parse_generation_parameters` does for `POST /sdapi/v1/png-info`.

The text is the prompt, then optionally a line starting "Negative prompt:" and what
follows it, then one line of ``Key: value`` pairs ("Steps: 20, Sampler: Euler a, ...").
Values stay the strings written there; a ``WxH`` value becomes ``Key-1`` and ``Key-2``
("Size: 512x768" gives "Size-1": "512", "Size-2": "768"), and a quoted value is unquoted.

The pairs are found as A1111's pattern (modules/infotext_utils.py)
``\\s*(\\w[\\w \\-/]+):\\s*("(?:\\\\.|[^\\\\"])+"|[^,]*)(?:,|$)`` finds them, but by a scan in
one pass (entrypoints.automatic1111.infotext_pairs): that pattern backtracks from every
character of a long line without a colon, and a PNG's compressed text chunk can inflate
to a megabyte of it from a request of a kilobyte.
"""

from __future__ import annotations

import json
import re

from entrypoints.automatic1111.infotext_pairs import infotext_pairs

MAX_INFOTEXT_CHARS = 64 * 1024
"""How much of the text is read. A1111 writes a few hundred characters; a text longer
than this is no infotext of its, and its tail is not looked at."""

_IMAGE_SIZE = re.compile(r"^(\d+)x(\d+)$")
_NEGATIVE = "Negative prompt:"


def parse_infotext(text: str) -> dict[str, str]:
    *lines, last = text[:MAX_INFOTEXT_CHARS].strip().split("\n")
    pairs = infotext_pairs(last)
    # A last line with fewer than three pairs is part of the prompt, as A1111 reads it.
    if len(pairs) < 3:
        lines.append(last)
        pairs = []
    prompt: list[str] = []
    negative: list[str] = []
    for line in lines:
        line = line.strip()
        if line.startswith(_NEGATIVE):
            negative.append(line[len(_NEGATIVE) :].strip())
        elif negative:
            negative.append(line)
        else:
            prompt.append(line)
    fields = {"Prompt": "\n".join(prompt), "Negative prompt": "\n".join(negative)}
    for key, value in pairs:
        value = _unquoted(value)
        size = _IMAGE_SIZE.match(value)
        if size is not None:
            fields[f"{key}-1"], fields[f"{key}-2"] = size.group(1), size.group(2)
        else:
            fields[key] = value
    # A1111 leaves a default clip skip out of the text; its reader puts it back.
    fields.setdefault("Clip skip", "1")
    return fields


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            unquoted = json.loads(value)
        except ValueError:
            return value
        if isinstance(unquoted, str):
            return unquoted
    return value
