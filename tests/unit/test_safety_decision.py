"""The safety decision equals diffusers' own (``StableDiffusionSafetyChecker.forward``) on
crafted cosines, bit for bit: the flags and every rounded score.

diffusers runs in one subprocess for the module (tests.support.diffusers_reference), so
this test process does not import torch; without the optimum extra the comparison skips.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import pytest

from adapters.safety_decision import decide
from tests.support import diffusers_reference

CONCEPTS, SPECIALS = 17, 3


def _f32(values: Any) -> list[Any]:
    """Values as float32 numbers, as diffusers' tensors hold them, in JSON-able form."""
    return np.asarray(values, dtype=np.float32).tolist()  # type: ignore[no-any-return]


def _case(special: Any, concepts: Any, special_thr: Any, concept_thr: Any) -> dict[str, Any]:
    return {
        "special": _f32(special),
        "concepts": _f32(concepts),
        "special_thresholds": _f32(special_thr),
        "concept_thresholds": _f32(concept_thr),
    }


def _cases() -> dict[str, dict[str, Any]]:
    rng = np.random.default_rng(13)
    thr_c = rng.uniform(0.15, 0.3, CONCEPTS)
    thr_s = rng.uniform(0.15, 0.3, SPECIALS)
    low = np.full(SPECIALS, -0.5)
    return {
        "all negative": _case(
            thr_s - 0.2 + np.zeros((4, SPECIALS)),
            thr_c - rng.uniform(0.01, 0.3, (4, CONCEPTS)),
            thr_s,
            thr_c,
        ),
        # cos - threshold around +-0.0005, +-0.001: where the rounding to 3 places decides.
        "rounding edges": _case(
            np.tile(low, (21, 1)),
            thr_c + np.linspace(-0.0015, 0.0015, 21)[:, None] + np.zeros((21, CONCEPTS)),
            thr_s,
            thr_c,
        ),
        "exact half thousandths": _case(
            np.tile(low, (6, 1)),
            np.array([0.2005, 0.2004, 0.2006, 0.1995, 0.0005, -0.0005])[:, None]
            + np.zeros((6, CONCEPTS)),
            thr_s,
            np.concatenate([[0.2, 0.2, 0.2, 0.2, 0.0, 0.0], np.full(CONCEPTS - 6, 0.9)]),
        ),
        # A special score above zero lifts every concept (and the later specials) by 0.01.
        "special care adjustment": _case(
            [
                [thr_s[0] + 0.002, thr_s[1] - 0.006, thr_s[2] - 0.0104],  # first special > 0
                [thr_s[0] - 0.1, thr_s[1] - 0.1, thr_s[2] + 0.003],  # only the last one
                [thr_s[0] - 0.1, thr_s[1] - 0.1, thr_s[2] - 0.1],  # none
                [thr_s[0] - 0.1, thr_s[1] - 0.1, thr_s[2] - 0.1],  # none, concept edge
            ],
            np.stack(
                [
                    thr_c - 0.005,  # flagged only through the adjustment
                    thr_c - 0.005,  # lifted too: the last special is above zero
                    thr_c - 0.005,  # no adjustment, not flagged
                    np.concatenate([[thr_c[0] + 0.0006], thr_c[1:] - 0.2]),
                ]
            ),
            thr_s,
            thr_c,
        ),
        "random batch": _case(
            thr_s + rng.normal(0, 0.01, (64, SPECIALS)),
            thr_c + rng.normal(0, 0.01, (64, CONCEPTS)),
            thr_s,
            thr_c,
        ),
    }


@pytest.fixture(scope="module")
def diffusers_verdicts() -> dict[str, dict[str, Any]]:
    if not all(importlib.util.find_spec(name) for name in ("torch", "diffusers")):
        pytest.skip('comparing with diffusers needs the optimum extra: pip install -e ".[optimum]"')
    cases = _cases()
    return dict(zip(cases, diffusers_reference.decide(list(cases.values())), strict=True))


@pytest.mark.parametrize("name", list(_cases()))
def test_the_decision_equals_diffusers_bit_for_bit(
    name: str, diffusers_verdicts: dict[str, dict[str, Any]]
) -> None:
    case = _cases()[name]
    verdicts = decide(
        np.array(case["concepts"], dtype=np.float32),
        np.array(case["special"], dtype=np.float32),
        case["concept_thresholds"],
        case["special_thresholds"],
    )
    expected = diffusers_verdicts[name]
    assert [v.flagged for v in verdicts] == expected["flagged"]
    assert [list(v.special_scores) for v in verdicts] == expected["special_scores"]
    assert [list(v.concept_scores) for v in verdicts] == expected["concept_scores"]


def test_the_crafted_cases_reach_both_sides_of_each_edge() -> None:
    """The cases are worth comparing: flags both ways, and the adjustment at work."""
    cases = _cases()

    def flags(name: str) -> list[bool]:
        case = cases[name]
        return [
            v.flagged
            for v in decide(
                np.array(case["concepts"]),
                np.array(case["special"]),
                case["concept_thresholds"],
                case["special_thresholds"],
            )
        ]

    assert not any(flags("all negative"))
    assert any(flags("rounding edges")) and not all(flags("rounding edges"))
    assert flags("special care adjustment") == [True, True, False, True]


def test_mismatched_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="thresholds"):
        decide(np.zeros((1, CONCEPTS)), np.zeros((1, SPECIALS)), [0.1] * 3, [0.1] * 3)
    with pytest.raises(ValueError, match="pair up"):
        decide(np.zeros((2, CONCEPTS)), np.zeros((1, SPECIALS)), [0.1] * 17, [0.1] * 3)
