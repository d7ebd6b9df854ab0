"""Prompts longer than this service takes, from the tools that speak foreign APIs.

AUTOMATIC1111 takes a prompt of any length and OpenAI thousands of characters, and the
tools that talk to them (SillyTavern, Open WebUI's prompts written by a language model)
send long ones. Our API refuses a prompt over PROMPT_MAX_CHARS; these translators cut it
there instead: Stable Diffusion 1.5's text encoder reads the first 77 tokens, which
ordinary text reaches within a few hundred characters, so the cut changes no image.
Whitespace around a prompt is removed before the cut: the encoder never reads it, and a
prompt that starts with a page of blank lines still has its words kept.
"""

from __future__ import annotations

import re

from domain.generation_request import PROMPT_MAX_CHARS

READ_CHARS = 16 * PROMPT_MAX_CHARS
"""Of a prompt sent with A1111's extra-network tags, the characters searched for them
(from its first non-blank one): however many tags the search removes there, what follows
would be past the cut. A prompt of megabytes is not searched to its end, on the event
loop, for tags that would each be named in a warning."""

_NOT_SPACE = re.compile(r"\S")


def prompt_start(text: str) -> tuple[str, bool]:
    """``text``'s first READ_CHARS characters after its leading whitespace, and whether
    more than whitespace follows them; found without copying the rest of a long text."""
    first = _NOT_SPACE.search(text)
    if first is None:
        return "", False
    end = first.start() + READ_CHARS
    return text[first.start() : end], _NOT_SPACE.search(text, end) is not None


def within_prompt_limit(text: str) -> tuple[str, bool]:
    """``text`` without its surrounding whitespace, cut to PROMPT_MAX_CHARS, and whether
    it was cut."""
    text = text.strip()
    if len(text) <= PROMPT_MAX_CHARS:
        return text, False
    return text[:PROMPT_MAX_CHARS].rstrip(), True
