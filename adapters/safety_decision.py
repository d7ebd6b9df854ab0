"""The standard safety checker's decision, exactly as diffusers'
``StableDiffusionSafetyChecker.forward`` makes it (the method the pipelines call; its
``forward_onnx`` skips the rounding and can differ at the edges).

Per image: each special-care score is ``round(cos - threshold + adjustment, 3)``, the
adjustment becoming 0.01 from the first special-care score above zero on (inside that loop,
so later special-care scores already carry it); each concept score the same with the final
adjustment; flagged when any concept score is above zero. The arithmetic is diffusers' own:
float32 numpy cosines minus Python-float thresholds, rounded by numpy's ``__round__``, so the
scores and flags match diffusers' bit for bit on the same cosines.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from application.safety_ports import SafetyVerdict

# diffusers: "increase this value to create a stronger nsfw filter".
SPECIAL_CARE_ADJUSTMENT = 0.01


def decide(
    cos_dist: NDArray[np.floating],
    special_cos_dist: NDArray[np.floating],
    concept_thresholds: Sequence[float],
    special_thresholds: Sequence[float],
) -> list[SafetyVerdict]:
    """One verdict per row of the cosines ([N, concepts] and [N, special concepts])."""
    # diffusers casts the cosines to float32 numpy before its loop: so do we.
    concepts = np.asarray(cos_dist, dtype=np.float32)
    specials = np.asarray(special_cos_dist, dtype=np.float32)
    if concepts.ndim != 2 or specials.ndim != 2 or len(concepts) != len(specials):
        raise ValueError(f"cosine shapes {concepts.shape} and {specials.shape} do not pair up")
    if concepts.shape[1] != len(concept_thresholds):
        raise ValueError(f"{concepts.shape[1]} concepts, {len(concept_thresholds)} thresholds")
    if specials.shape[1] != len(special_thresholds):
        raise ValueError(
            f"{specials.shape[1]} special concepts, {len(special_thresholds)} thresholds"
        )
    concept_limits = [float(t) for t in concept_thresholds]
    special_limits = [float(t) for t in special_thresholds]
    return [
        _verdict(concepts[i], specials[i], concept_limits, special_limits)
        for i in range(len(concepts))
    ]


def _verdict(
    concepts: NDArray[np.float32],
    specials: NDArray[np.float32],
    concept_limits: list[float],
    special_limits: list[float],
) -> SafetyVerdict:
    adjustment = 0.0
    special_scores = []
    for index, limit in enumerate(special_limits):
        score = round(specials[index] - limit + adjustment, 3)
        special_scores.append(score)
        if score > 0:
            adjustment = SPECIAL_CARE_ADJUSTMENT
    concept_scores = [
        round(concepts[index] - limit + adjustment, 3) for index, limit in enumerate(concept_limits)
    ]
    return SafetyVerdict(
        flagged=any(score > 0 for score in concept_scores),
        concept_scores=tuple(float(score) for score in concept_scores),
        special_scores=tuple(float(score) for score in special_scores),
    )
