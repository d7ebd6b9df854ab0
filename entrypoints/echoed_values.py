"""A client's value, shown in a warning or an error message: short, whatever its size.

A name of a model, sampler or script is a few dozen characters; a client may send
megabytes where one goes (or a list of thousands). Echoed whole, one request would make
an answer several times its own size, and `repr` of it would run on the event loop.
"""

from __future__ import annotations

import reprlib

SHOWN_CHARS = 100
"""At most this many characters of a value are shown (then "...")."""

_SHORT = reprlib.Repr()
# reprlib cuts strings before it quotes them and stops at these counts of items and
# levels, so that showing a value costs the same whatever its size.
_SHORT.maxstring = SHOWN_CHARS
_SHORT.maxother = SHOWN_CHARS
_SHORT.maxlong = SHOWN_CHARS
_SHORT.maxlevel = 2
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 6


def shown(value: object) -> str:
    """``value``'s repr, at most about SHOWN_CHARS characters: `'sd_xl'`, `[1, 2, ...]`."""
    text = _SHORT.repr(value)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "..."


def clipped(text: str) -> str:
    """``text`` itself (not its repr), at most SHOWN_CHARS characters of it."""
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "..."
