"""Running one job, the engine-thread side: render every image, then store them.

Everything here runs in the one engine thread (`job_run.py` is the event-loop side that
waits for it). Images are written only after the whole batch rendered and no stop was
asked for, and a batch is stored whole or not at all: a cancel, a timeout or a failed
write (a full disk) removes the images of the job already written.
"""

from __future__ import annotations

import base64
import threading
import time
from pathlib import Path

import structlog

from application.image_metadata import image_text_chunks
from application.ports import (
    EditImages,
    EditPixels,
    ImageBackend,
    ImageStore,
    ModelStatus,
    PreviewSource,
    ProgressCallback,
    RenderedImage,
)
from application.safety_screening import SafetyScreening
from domain.errors import GenerationCancelled
from domain.input_image import EditMode
from domain.job import ImageRef, Job

log = structlog.get_logger("service")

JobProgress = ProgressCallback
"""Progress over the whole job: ``(step, total)`` counted across every image of a batch."""


class ImagesNotStored(Exception):
    """Writing an image of the job failed; the images written before it are removed."""

    def __init__(self, name: str, folder: Path, cause: Exception) -> None:
        super().__init__(f"Could not save {name} in {folder}: {cause}")
        self.name = name
        self.folder = folder
        self.cause = cause


def render_and_store(
    backend: ImageBackend,
    images: ImageStore,
    job: Job,
    stop: threading.Event,
    on_progress: JobProgress,
    model: ModelStatus,
    edit_pixels: EditPixels | None = None,
    screening: SafetyScreening | None = None,
) -> list[ImageRef]:
    """Raises UploadNotFound when an input image of an edit has gone since acceptance.

    With a safety ``screening``, every image is judged once the batch is rendered and a
    flagged one is covered before it is written: the original pixels never reach disk.
    """
    request = job.request
    seeds = request.image_seeds(job.seed)
    steps = request.denoising_steps  # an edit at strength s runs int(steps * s) of them
    total = steps * len(seeds)
    edit = _prepared(edit_pixels, job)
    rendered: list[tuple[RenderedImage, float]] = []
    for index, seed in enumerate(seeds):
        progress = _counted_over_the_job(on_progress, index * steps, total)
        started = time.perf_counter()
        if edit is None:
            image = backend.generate(request, seed, progress, stop.is_set)
        elif steps == 0:
            # Strength 0 denoises nothing: the result is the input at the output size.
            image = RenderedImage(edit.width, edit.height, edit.init_rgb, seed)
        else:
            image = backend.generate(request, seed, progress, stop.is_set, edit=edit)
            assert edit_pixels is not None  # _prepared made `edit` with it
            image = edit_pixels.finish(image, edit)
        rendered.append((image, (time.perf_counter() - started) * 1000))
        if stop.is_set():
            raise GenerationCancelled("Stopped before the batch was complete.")
    checking_started = time.perf_counter()
    screened = (screening or SafetyScreening()).screen([image for image, _ in rendered])
    check_ms = (time.perf_counter() - checking_started) * 1000 / max(len(rendered), 1)
    refs: list[ImageRef] = []
    saving_started = time.perf_counter()
    try:
        for name, (_, generation_ms), checked in zip(
            job.image_names(), rendered, screened, strict=True
        ):
            if stop.is_set():
                raise GenerationCancelled("Stopped before the images were saved.")
            image = checked.image
            # Mock images stay byte-identical for the same request: no timings in them.
            timings = {} if backend.is_mock else {"generation": round(generation_ms, 1)}
            timings.update(image.timings_ms)
            if checked.verdict is not None and not backend.is_mock:
                timings["safety_check"] = round(check_ms, 1)
            chunks = image_text_chunks(
                request,
                image.seed,
                model,
                backend.provenance,
                backend.device,
                timings,
                safety=screening.provenance(checked.verdict) if screening else None,
            )
            try:
                images.save(name, image, chunks)
            except OSError as error:
                raise ImagesNotStored(name, images.directory, error) from error
            refs.append(
                ImageRef(
                    name=name,
                    seed=image.seed,
                    width=image.width,
                    height=image.height,
                    nsfw=checked.nsfw,
                )
            )
    except BaseException:
        _remove_written(images, refs, job)
        raise
    log.info(
        "images_saved",
        job_id=job.id,
        images=len(refs),
        generation_ms=round(sum(ms for _, ms in rendered), 1),
        png_ms=round((time.perf_counter() - saving_started) * 1000, 1),
        flagged=sum(1 for ref in refs if ref.nsfw),
    )
    return refs


def _prepared(edit_pixels: EditPixels | None, job: Job) -> EditImages | None:
    """The edit's inputs at the output size, read once for the whole batch."""
    if job.request.mode is EditMode.TEXT_TO_IMAGE:
        return None
    if edit_pixels is None:
        raise RuntimeError("This service was built without EditPixels: it cannot run edits.")
    started = time.perf_counter()
    edit = edit_pixels.prepare(job.request)
    log.debug(
        "edit_prepared",
        job_id=job.id,
        mode=job.request.mode.value,
        ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return edit


def _remove_written(images: ImageStore, refs: list[ImageRef], job: Job) -> None:
    """All or nothing: a batch cut short leaves none of its files behind."""
    for ref in refs:
        try:
            images.delete(ref.name)
        except OSError as error:
            # The file stays unlisted; a restart does not know it. Say which.
            log.error("partial_batch_file_stays", job_id=job.id, image=ref.name, detail=str(error))


def _counted_over_the_job(
    on_progress: JobProgress, offset: int, job_total: int
) -> ProgressCallback:
    def report(step: int, total: int, preview: PreviewSource | None = None) -> None:
        on_progress(offset + step, job_total, preview)

    return report


def preview_data_url(preview: PreviewSource, job_id: str) -> str | None:
    """A data URL of the backend's preview; a failing preview never fails the job."""
    try:
        jpeg = preview()
    except Exception as error:
        log.warning("preview_failed", job_id=job_id, error_type=type(error).__name__)
        return None
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
