"""Extra-network tags are read as A1111's own pattern reads them, in one pass over the
prompt: the pattern only looks up to the last ">", so an unclosed "<word:" tail is never
searched at all."""

from __future__ import annotations

import random
import re

import pytest

from entrypoints.automatic1111.prompt_syntax import without_extra_networks

# A1111's `re_extra_net`, applied to the whole prompt as A1111 applies it.
A1111_EXTRA_NETWORK = re.compile(r"<(\w+):([^>]+)>")


def as_a1111_reads(prompt: str) -> tuple[str, list[str]]:
    tags = [match.group(0) for match in A1111_EXTRA_NETWORK.finditer(prompt)]
    return (A1111_EXTRA_NETWORK.sub("", prompt).strip(), tags) if tags else (prompt, [])


@pytest.mark.parametrize(
    ("prompt", "kept", "tags"),
    [
        ("a cat <lora:foggy:0.8>", "a cat", ["<lora:foggy:0.8>"]),
        ("<lyco:a:1> x <hypernet:b:0.5> y", "x  y", ["<lyco:a:1>", "<hypernet:b:0.5>"]),
        ("a <lora:x<y> b", "a  b", ["<lora:x<y>"]),  # a "<" inside a tag is A1111's too
        ("<lora:> <a b:1> <:1>", "<lora:> <a b:1> <:1>", []),  # no name or no arguments
        ("<lora:x:1> and <a:b", "and <a:b", ["<lora:x:1>"]),  # the unclosed tail is kept
        ("a cat <a:" * 3, "a cat <a:" * 3, []),
    ],
)
def test_tags_are_those_of_a1111s_pattern(prompt: str, kept: str, tags: list[str]) -> None:
    assert without_extra_networks(prompt) == (kept, tags) == as_a1111_reads(prompt)


def test_any_prompt_reads_as_a1111_reads_it() -> None:
    rng = random.Random(12)
    for _ in range(5000):
        prompt = "".join(rng.choice("<>:a1 _\n-") for _ in range(rng.randint(0, 16)))
        assert without_extra_networks(prompt) == as_a1111_reads(prompt), repr(prompt)


def test_a_long_unclosed_tail_is_kept_as_written() -> None:
    # "<a:" * n has no ">": nothing is searched, and the prompt comes back as it was
    # (A1111's pattern would have read from every "<" to the end, the square of n).
    prompt = "<a:" * 100_000
    assert without_extra_networks(prompt) == (prompt, [])
    closed = "<a:" * 100_000 + ">"
    assert without_extra_networks(closed) == ("", [closed])
