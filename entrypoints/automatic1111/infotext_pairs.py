"""The ``Key: value`` pairs of an infotext's last line, found in one pass.

A1111 finds them with ``re.findall`` of
``\\s*(\\w[\\w \\-/]+):\\s*("(?:\\\\.|[^\\\\"])+"|[^,]*)(?:,|$)``. That search starts again
at every character, and from each it can read to the end of the line before failing
(a key's run of letters and spaces with no colon after it; a quote never closed), so a
long line costs the square of its length. The scan here gives the same pairs and reads
each character a bounded number of times:

- A key starts at a word character (findall's tries from the spaces before one come to
  the same; from anything else they fail at once), so the scan goes from one to the next.
- A key is a maximal run of ``[\\w \\-/]`` that starts with a word character, is at least
  two characters long and is followed by ``:``. When the run at some place is not one,
  no place inside it starts one either (each would end where it ends): the scan goes on
  from its end, where findall would have come to after failing at every place between.
- The value, after the colon and any spaces, is a quoted string when one closes there and
  is followed by a comma or the end of the line; otherwise everything up to the next
  comma. Where each quoted string would close is worked out once for the line, right to
  left, instead of once per key.
"""

from __future__ import annotations

import re

_SPACES = re.compile(r"\s*")
_KEY_RUN = re.compile(r"\w[\w \-/]*")


def infotext_pairs(line: str) -> list[tuple[str, str]]:
    """The (key, value) pairs A1111's findall gives for ``line`` (one line: no "\\n")."""
    pairs: list[tuple[str, str]] = []
    closings: list[int] | None = None
    end_of_line = len(line)
    position = 0
    while position < end_of_line:
        # findall's \s* only moves a try to the next character; a try that does not
        # reach a word character fails: each key starts at the next word character.
        run = _KEY_RUN.search(line, position)
        if run is None:
            break
        key_start = run.start()
        colon = run.end()
        if colon - key_start < 2 or line[colon : colon + 1] != ":":
            position = colon
            continue
        value_start = _after_spaces(line, colon + 1)
        if line[value_start : value_start + 1] == '"':
            if closings is None:
                closings = _closing_quotes(line)
            value_end = _quoted_end(line, value_start, closings)
            if value_end is not None and line[value_end : value_end + 1] in ("", ","):
                pairs.append((run.group(), line[value_start:value_end]))
                position = value_end + 1
                continue
        comma = line.find(",", value_start)
        value_end = end_of_line if comma < 0 else comma
        pairs.append((run.group(), line[value_start:value_end]))
        position = value_end + 1
    return pairs


def _after_spaces(line: str, place: int) -> int:
    spaces = _SPACES.match(line, place)  # \s* always matches
    return place if spaces is None else spaces.end()


def _quoted_end(line: str, opening: int, closings: list[int]) -> int | None:
    """Just past the quoted string opened at ``opening`` (``"(?:\\\\.|[^\\\\"])+"``), or
    None: it holds at least one character and ends at the first unescaped quote."""
    first = opening + 1
    if first >= len(line) or line[first] == '"':
        return None
    closing = closings[first]
    return None if closing < 0 else closing + 1


def _closing_quotes(line: str) -> list[int]:
    """For each place, the first unescaped quote from it on (a backslash escapes the
    character after it), or -1: none, or a backslash with nothing it may escape first."""
    length = len(line)
    closings = [-1] * (length + 2)
    for place in range(length - 1, -1, -1):
        character = line[place]
        if character == '"':
            closings[place] = place
        elif character == "\\":
            escapable = place + 1 < length and line[place + 1] != "\n"
            closings[place] = closings[place + 2] if escapable else -1
        else:
            closings[place] = closings[place + 1]
    return closings
