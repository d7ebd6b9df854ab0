"""AUTOMATIC1111's prompt syntax, as far as we read it.

- Extra-network tags, `<lora:name:0.8>`, `<lyco:...>`, `<hypernet:...>` (any `<word:...>`,
  A1111's own pattern) load weights we do not have: they are removed before the prompt is
  encoded, and each is named in `info`'s warnings ("ignored: <lora:name:0.8>").
- Emphasis, `(word:1.2)`, `((word))`, `[word]`, is passed through as text: our engines
  encode the prompt as written, so the brackets and numbers are read as words. Nothing is
  removed or reweighted.
"""

from __future__ import annotations

import re

# A1111's `re_extra_net` (modules/extra_networks.py).
_EXTRA_NETWORK = re.compile(r"<(\w+):([^>]+)>")


def without_extra_networks(prompt: str) -> tuple[str, list[str]]:
    """``prompt`` with its extra-network tags removed, and the tags removed, in order."""
    # Every tag ends in ">": the pattern only looks up to the last one. Past it, a try
    # from each "<word:" would read to the end of the prompt for a ">" and fail, and a
    # prompt of "<a:<a:<a:..." would cost the square of its length, on the event loop.
    # Up to the last ">", each try stops at the next ">", where the tag it finds ends.
    end = prompt.rfind(">") + 1
    head, tail = prompt[:end], prompt[end:]
    tags = [match.group(0) for match in _EXTRA_NETWORK.finditer(head)]
    if not tags:
        return prompt, []
    return (_EXTRA_NETWORK.sub("", head) + tail).strip(), tags


# What a tag's start may be at the very end of a prompt cut short: "<", "<lo", "<lora:x:0.".
_SPLIT_TAG = re.compile(r"<\w*(?::[^>]*)?\Z")
_SPLIT_TAG_CHARS = 200
"""A tag's length at most, as far as a split one is looked for: names and weights are
short, and a "<" further back is more likely the prompt's own text."""


def without_split_tag(prompt: str) -> str:
    """``prompt``, cut short, without the start of a tag at its end: a tag the cut split
    (its name would be read as words, its weight as a number)."""
    # Searched after the last ">" only: there each try ends at the next "<" or at the
    # prompt's end, so the search is linear.
    start = max(prompt.rfind(">") + 1, len(prompt) - _SPLIT_TAG_CHARS)
    opened = _SPLIT_TAG.search(prompt, start)
    return prompt if opened is None else prompt[: opened.start()]
