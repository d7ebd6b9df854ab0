"""`POST /v1/images/generations`: OpenAI's text-to-image call as jobs in our queue.

`n` (1..10) images run as consecutive jobs of up to four, with consecutive seeds
(`run_in_jobs`), counted as one submission against RATE_LIMIT; the call waits for them
as `POST /image` does. See `images_call` for the
fields read and ignored, `image_size` for `size`, `images_answer` for the answer.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from entrypoints.generation_submission import run_in_jobs
from entrypoints.json_body import read_json_object
from entrypoints.openai_images.field_names import openai_field_names
from entrypoints.openai_images.images_answer import images_answer
from entrypoints.openai_images.images_call import GENERATION_EXTRAS, images_call


async def create_images(request: Request) -> Response:
    call = images_call(await read_json_object(request), GENERATION_EXTRAS)
    with openai_field_names():
        outcome = await run_in_jobs(request, call.fields, call.n)
    return await images_answer(request, outcome, call.response_format)


GENERATION_ROUTES: list[BaseRoute] = [
    Route("/images/generations", create_images, methods=["POST"]),
]
