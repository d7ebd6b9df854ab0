"""The checker for the setting `off`: nothing judges the images (the default)."""

from __future__ import annotations

from collections.abc import Sequence

from application.ports import RenderedImage
from application.safety_ports import SafetyVerdict


class NoSafetyChecker:
    name = "none"
    version = "none"
    device = "none"

    def check(self, images: Sequence[RenderedImage]) -> list[SafetyVerdict | None]:
        return [None for _ in images]
