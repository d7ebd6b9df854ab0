"""The safety filter's ports: a checker that judges final images, and a cover for those
it flags. Adapters implement these without importing them; tests hand-write fakes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from application.ports import RenderedImage


@dataclass(frozen=True)
class SafetyVerdict:
    """What a checker said about one image."""

    flagged: bool
    concept_scores: tuple[float, ...] = ()
    """Per concept, the score the decision compared with zero (above: flagged), where the
    checker has them: the standard checker's 17, after the special-care adjustment."""
    special_scores: tuple[float, ...] = ()
    """Per "special care" concept, its score; one above zero tightens every concept."""


class SafetyChecker(Protocol):
    """Judges the final images of a job, one verdict per image."""

    @property
    def name(self) -> str:
        """What the settings call it: ``"none"`` for no checker, ``"sd_checker"``."""

    @property
    def version(self) -> str:
        """Which weights and conversion judged, for the images' provenance."""

    @property
    def device(self) -> str:
        """Where it runs (``"CPU"``, ``"GPU"``), or ``"none"``."""

    def check(self, images: Sequence[RenderedImage]) -> list[SafetyVerdict | None]:
        """One verdict per image, in order; None where the checker did not judge (the
        ``none`` checker judges nothing). Blocking; called in the engine thread."""


class ImageCover(Protocol):
    """What a flagged image becomes before it is stored or shown, as the settings choose."""

    @property
    def action(self) -> str:
        """``"blur"`` (a strong blur and a notice) or ``"block"`` (a plain placeholder)."""

    def cover(self, image: RenderedImage) -> RenderedImage:
        """The image to store instead: same size and seed, nothing of the original
        recoverable from it."""

    def cover_preview(self, jpeg: bytes) -> bytes:
        """A live preview (JPEG) blurred at its own size: cheap, done on every preview
        while a checker is on, since late previews may show what the final check flags."""
