"""The safety filter's policy: judge every final image, cover the flagged ones before
anything stores or shows them, and keep previews from showing what the check would catch.

The checker is loaded in the background at start (the standard one compiles a CLIP
vision tower). Until it is loaded, or when it cannot be, the service is not ready (a
readiness hold with the reason), so no job runs and nothing unfiltered is made: a
checker that was asked for is never skipped silently.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from application.model_lifecycle import in_daemon_thread
from application.ports import PreviewSource, RenderedImage
from application.readiness import Readiness
from application.safety_ports import ImageCover, SafetyChecker, SafetyVerdict
from domain.errors import DomainError, Problem, Remedy

log = structlog.get_logger("safety")

HOLD = "safety_checker"
"""The readiness hold this module places while the checker is not loaded."""

PREVIEWS_BLUR = "blur"
PREVIEWS_OFF = "off"


class SafetyCheckerNotLoaded(RuntimeError):
    """A job reached the check while the checker asked for is not loaded: readiness
    holds jobs back then, so this is a bug, and the job fails rather than leak."""


@dataclass(frozen=True)
class ScreenedImage:
    image: RenderedImage
    """What may be stored and shown: the rendered image, or its cover when flagged."""
    verdict: SafetyVerdict | None
    """None: no checker judged it."""

    @property
    def nsfw(self) -> bool | None:
        return self.verdict.flagged if self.verdict is not None else None


@dataclass(frozen=True)
class SafetyReport:
    """What `/health` says about the filter."""

    checker: str
    """The checker setting's value: ``"off"`` or the checker's name."""
    action: str
    previews: str
    loaded: bool
    version: str | None
    device: str | None


class SafetyScreening:
    def __init__(
        self,
        cover: ImageCover | None = None,
        *,
        checker: SafetyChecker | None = None,
        load_checker: Callable[[], SafetyChecker] | None = None,
        requested: str = "off",
        previews: str = PREVIEWS_BLUR,
    ) -> None:
        """Either ``checker`` (ready now: the ``none`` one, or a test's fake) or
        ``load_checker`` (run by :meth:`bring_up`), or neither: no filter. ``requested``
        is the setting's value; a ``cover`` is needed whenever a checker may flag."""
        self._cover = cover
        self._checker = checker
        self._load_checker = load_checker
        self._requested = requested
        self._previews = previews
        if self.active and cover is None:
            raise ValueError("A safety checker needs an ImageCover for what it flags.")

    @property
    def active(self) -> bool:
        """Whether images are judged (a checker other than ``none`` is asked for)."""
        if self._checker is not None:
            return self._checker.name != "none"
        return self._load_checker is not None

    def report(self) -> SafetyReport:
        checker = self._checker
        return SafetyReport(
            checker=self._requested,
            action=self._cover.action if self._cover is not None else "blur",
            previews=self._previews if self.active else PREVIEWS_BLUR,
            loaded=checker is not None,
            version=checker.version if checker is not None and self.active else None,
            device=checker.device if checker is not None and self.active else None,
        )

    def hold_until_loaded(self, readiness: Readiness) -> None:
        """Before any job may run: no job until the checker asked for is loaded."""
        if self._checker is None and self._load_checker is not None:
            readiness.hold(HOLD, Problem("Loading the safety checker."))

    async def bring_up(self, readiness: Readiness) -> None:
        """Load the checker asked for, holding readiness until it is; never raises."""
        if self._checker is not None or self._load_checker is None:
            return
        self.hold_until_loaded(readiness)
        started = time.perf_counter()
        try:
            checker = await in_daemon_thread(self._load_checker)
        except DomainError as error:
            readiness.hold(HOLD, error.problem)
            log.error(
                "safety_checker_unavailable",
                reason=error.message,
                remedies=[remedy.value for remedy in error.remedies],
            )
            return
        except Exception as error:
            readiness.hold(
                HOLD,
                Problem(
                    "The safety checker could not be loaded; the server log has the details. "
                    "No image is made without it.",
                    (Remedy.DOWNLOAD_SAFETY_CHECKER, Remedy.SAFETY_CHECKER_OFF),
                ),
            )
            log.error("safety_checker_unavailable", exc_info=error)
            return
        self._checker = checker
        readiness.release(HOLD)
        log.info(
            "safety_checker_ready",
            checker=checker.name,
            version=checker.version,
            device=checker.device,
            load_ms=round((time.perf_counter() - started) * 1000, 1),
        )

    def screen(self, images: Sequence[RenderedImage]) -> list[ScreenedImage]:
        """Every image judged on its own; the flagged ones covered. In the engine thread."""
        checker = self._checker
        if checker is None:
            if self.active:
                raise SafetyCheckerNotLoaded("The safety checker is not loaded.")
            return [ScreenedImage(image, None) for image in images]
        verdicts = checker.check(images)
        if len(verdicts) != len(images):
            raise RuntimeError(f"{len(images)} images judged with {len(verdicts)} verdicts.")
        return [
            ScreenedImage(self._covered(image) if verdict and verdict.flagged else image, verdict)
            for image, verdict in zip(images, verdicts, strict=True)
        ]

    def _covered(self, image: RenderedImage) -> RenderedImage:
        assert self._cover is not None  # __init__ refuses an active screening without one
        return self._cover.cover(image)

    def preview(self, source: PreviewSource) -> PreviewSource | None:
        """The preview as it may be shown: as it is without a checker; blurred, or none
        at all (previews off), with one."""
        if not self.active:
            return source
        if self._previews == PREVIEWS_OFF:
            return None
        cover = self._cover
        assert cover is not None
        return lambda: cover.cover_preview(source())

    def provenance(self, verdict: SafetyVerdict | None) -> Mapping[str, Any] | None:
        """What the image's PNG records about its check; None when none judged it."""
        checker = self._checker
        if verdict is None or checker is None:
            return None
        return {
            "checker": checker.name,
            "version": checker.version,
            "flagged": verdict.flagged,
            "action": self._cover.action if verdict.flagged and self._cover else None,
            "concept_scores": [round(score, 4) for score in verdict.concept_scores],
            "special_scores": [round(score, 4) for score in verdict.special_scores],
        }
