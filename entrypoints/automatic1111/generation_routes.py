"""`POST /sdapi/v1/txt2img` and `POST /sdapi/v1/img2img`: AUTOMATIC1111's bodies
translated into our jobs (`request_translation`), run through our one queue like
`POST /image`, and answered as A1111 answers (`answer`).

The call waits for its jobs. A client that disconnects meanwhile drops the job still
waiting and gets a bare 499; an interrupt (`POST /sdapi/v1/interrupt`, or the UI's
cancel) ends the call with 200 and the images made so far, with "interrupted" in
`info`'s warnings; a skipped job (`/skip`) lets the rest of the call go on. A later job
of the call refused (a full queue, a full disk) ends it with 200, the images made and a
warning; the rate limit counts the call once (see `generation_submission`).
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from application.image_metadata import a1111_sampler, scheduler_in_effect
from domain.errors import InvalidImage, InvalidRequest, UnsupportedOption
from domain.job import Job
from entrypoints.app_state import services
from entrypoints.automatic1111.answer import (
    CallRecord,
    MadeImage,
    a1111_answer_json,
    read_made_image,
)
from entrypoints.automatic1111.request_models import Img2ImgBody, Txt2ImgBody
from entrypoints.automatic1111.request_translation import EngineChoices, in_a1111_terms, translate
from entrypoints.automatic1111.served_model import served_model
from entrypoints.generation_submission import generation_body_limit, run_in_jobs
from entrypoints.http_errors import CLIENT_CLOSED_REQUEST
from entrypoints.json_body import read_json_object
from entrypoints.request_validation import validated

TXT2IMG_BODY_BYTES = 2**20
"""A txt2img body carries no image: room for long prompts and scripts' settings, not for
the tens of megabytes an img2img's inline images take (ControlNet's, which are ignored
here, included)."""


async def txt2img(request: Request) -> Response:
    return await _generate(request, Txt2ImgBody)


async def img2img(request: Request) -> Response:
    return await _generate(request, Img2ImgBody)


async def _generate(request: Request, model: type[Txt2ImgBody]) -> Response:
    built = services(request)
    limit = generation_body_limit(built.settings.max_upload_mb * 2**20)
    body = await read_json_object(request, limit if model is Img2ImgBody else TXT2IMG_BODY_BYTES)
    parsed = validated(model, body)
    served = served_model(request)
    translation = translate(
        parsed, EngineChoices(built.service.readiness.schedulers, served.is_named_by)
    )
    skipped: list[Job] = []

    def go_on_after_cancel(job: Job) -> bool:
        if built.skipped_jobs.take_skip(job.id):
            skipped.append(job)
            return True
        return False

    try:
        outcome = await run_in_jobs(
            request,
            translation.fields,
            translation.total_images,
            go_on_after_cancel=go_on_after_cancel,
            field_name="batch_size",
            ends_on_interrupt=True,
        )
    except (InvalidRequest, UnsupportedOption, InvalidImage) as error:
        raise in_a1111_terms(error) from None
    if outcome.client_left:
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    warnings = list(translation.warnings)
    warnings += [f"skipped: job {job.id}" for job in skipped]
    if outcome.interrupted:
        warnings.append("interrupted")
    if outcome.refusal is not None:
        made = sum(len(job.images) for job in outcome.succeeded)
        warnings.append(f"stopped after {made} images: {outcome.refusal.message}")
    images = await asyncio.to_thread(_read_images, request, outcome.succeeded, warnings)
    record = CallRecord(
        body=body,
        parsed=parsed,
        jobs=outcome.jobs,
        images=images,
        sampler_name=_sampler_name(request, outcome.jobs[0]),
        model_name=served.model_name,
        warnings=warnings,
        model_hash=served.hash,
    )
    answer = await asyncio.to_thread(a1111_answer_json, record)
    return Response(answer, media_type="application/json")


def _read_images(request: Request, jobs: list[Job], warnings: list[str]) -> list[MadeImage]:
    store = services(request).image_store
    images = []
    for job in jobs:
        for image in job.images:
            path = store.path_of(image.name)
            if path is None:
                # Deleted from the gallery between the job's end and now.
                warnings.append(f"image {image.name} was deleted before it could be sent")
                continue
            try:
                images.append(read_made_image(path, image.seed, image.nsfw))
            except FileNotFoundError:
                warnings.append(f"image {image.name} was deleted before it could be sent")
    return images


def _sampler_name(request: Request, job: Job) -> str:
    """A1111's label of the scheduler that ran: the one asked for, else the model's own."""
    backend = services(request).service.readiness.backend
    engine = backend.provenance if backend is not None else {}
    return a1111_sampler(scheduler_in_effect(job.request, engine))


GENERATION_ROUTES: list[BaseRoute] = [
    Route("/txt2img", txt2img, methods=["POST"]),
    Route("/img2img", img2img, methods=["POST"]),
]
