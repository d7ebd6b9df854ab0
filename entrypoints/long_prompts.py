"""Prompts longer than this service takes, from the tools that speak foreign APIs.

AUTOMATIC1111 takes a prompt of any length and OpenAI thousands of characters, and the
tools that talk to them (SillyTavern, Open WebUI's prompts written by a language model)
send long ones. Our API refuses a prompt over PROMPT_MAX_CHARS; these translators cut it
there instead: Stable Diffusion 1.5's text encoder reads the first 77 tokens, which
ordinary text reaches within a few hundred characters, so the cut changes no image.
"""

from __future__ import annotations

from domain.generation_request import PROMPT_MAX_CHARS


def within_prompt_limit(text: str) -> tuple[str, bool]:
    """``text`` cut to PROMPT_MAX_CHARS, and whether it was cut."""
    if len(text) <= PROMPT_MAX_CHARS:
        return text, False
    return text[:PROMPT_MAX_CHARS], True
