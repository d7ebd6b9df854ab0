"""An infotext's ``Key: value`` pairs are those A1111's own pattern finds, found in one
pass; and only the first MAX_INFOTEXT_CHARS of a PNG's text are read at all."""

from __future__ import annotations

import random
import re

import pytest

from entrypoints.automatic1111.infotext import MAX_INFOTEXT_CHARS, parse_infotext
from entrypoints.automatic1111.infotext_pairs import infotext_pairs

# A1111's `re_param` (modules/infotext_utils.py), whose findall gives the pairs.
A1111_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


@pytest.mark.parametrize(
    "line",
    [
        "Steps: 20, Sampler: Euler a, CFG scale: 7.5, Seed: 1, Size: 512x768",
        'Note: "a, b", Lora hashes: "x: 1, y: 2", Version: v1.9.0',
        'Template: "say \\"hi\\", twice", Empty: , Unclosed: "a, b',
        'Quoted then more: "a" b, Escaped end: "a\\", Tail: "\\',
        "a: b, c d: e, -x: y, ab/c-d e: f, \tTab key: 1, é1: 2, k:v",
        "a a a a a a, b: 1",
        "",
    ],
)
def test_pairs_are_those_of_a1111s_pattern(line: str) -> None:
    assert infotext_pairs(line) == A1111_PARAM.findall(line)


def test_any_line_gives_a1111s_pairs() -> None:
    rng = random.Random(12)
    characters = ["a", "b", "1", "_", "\u00e9", " ", "\t", "\u00a0", "-", "/", ":", ",", '"', "\\"]
    for _ in range(20_000):
        line = "".join(rng.choice(characters) for _ in range(rng.randint(0, 20)))
        assert infotext_pairs(line) == A1111_PARAM.findall(line), repr(line)


def test_text_past_the_bound_is_not_read() -> None:
    # A1111 writes a few hundred characters; a PNG's compressed text may inflate to a
    # megabyte. Past the bound nothing is read: the pairs after it are not found.
    prompt = "a " * MAX_INFOTEXT_CHARS
    parsed = parse_infotext(prompt + "\nSteps: 20, Sampler: Euler a, Seed: 1")
    assert parsed["Prompt"] == prompt[:MAX_INFOTEXT_CHARS].strip()
    assert "Steps" not in parsed and "Seed" not in parsed
    within = parse_infotext("a fox\nSteps: 20, Sampler: Euler a, Seed: 1")
    assert (within["Prompt"], within["Steps"], within["Seed"]) == ("a fox", "20", "1")


def test_a_long_line_without_a_colon_is_prompt() -> None:
    # The line A1111's pattern takes the square of its length over: no pairs, all prompt.
    assert infotext_pairs("a " * 100_000) == []
    assert parse_infotext("a " * 100_000)["Prompt"] == ("a " * 100_000)[:MAX_INFOTEXT_CHARS].strip()
