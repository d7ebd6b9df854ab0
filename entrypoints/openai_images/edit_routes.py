"""`POST /v1/images/edits`: OpenAI's image edit as image-to-image, or inpainting with a
mask, through our queue.

Without a mask the whole image is reworked, as far as `strength` says (our default, 0.75,
unless the form sends its own). With one, OpenAI's convention holds: the mask's
transparent pixels are repainted, its opaque ones kept — our mask read inverted
(`invert_mask`: a mask with transparency is read from its alpha, opaque repaints). A mask
without any transparency is read by its luminance, inverted too: black repaints. `size`
"auto" or left out keeps the input's shape (fitted to our bounds); a size given is
fitted as for generations and the image fills it.

The images pass to our body as base64, so they are checked and stored as any input image
(an upload each; removed again if the call is refused). The form may carry up to two
images of MAX_UPLOAD_MB each, plus its envelope.
"""

from __future__ import annotations

import asyncio
import base64

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from domain.errors import FieldError, InvalidRequest
from entrypoints.app_state import services
from entrypoints.generation_submission import run_in_jobs
from entrypoints.openai_images.edit_form import EditForm, edit_form
from entrypoints.openai_images.field_names import openai_field_names
from entrypoints.openai_images.images_answer import images_answer
from entrypoints.openai_images.images_call import EDIT_EXTRAS, images_call
from entrypoints.upload_body import MULTIPART_ENVELOPE_BYTES, read_form

EDIT_MAX_PARTS = 64
"""Images (`image[]` may repeat), a mask, and the text fields of OpenAI's and ours."""


async def create_edit(request: Request) -> Response:
    max_upload = services(request).settings.max_upload_mb * 2**20
    parts = await read_form(
        request,
        limit=2 * max_upload + MULTIPART_ENVELOPE_BYTES,
        too_large=f"The form is larger than two images of {max_upload / 2**20:g} MB "
        "(MAX_UPLOAD_MB), the image and its mask.",
        max_parts=EDIT_MAX_PARTS,
    )
    form = edit_form(parts)
    if form.image is None:
        raise InvalidRequest([FieldError("image", "Send the image to edit as the file `image`.")])
    call = images_call(form.values, EDIT_EXTRAS)
    fields = {**call.fields, **await asyncio.to_thread(_inline_images, form)}
    with openai_field_names():
        outcome = await run_in_jobs(request, fields, call.n)
    return await images_answer(request, outcome, call.response_format)


def _inline_images(form: EditForm) -> dict[str, object]:
    """The form's images as our body's fields (base64 of up to 20 MB each: off the loop)."""
    fields: dict[str, object] = {"init_image": base64.b64encode(form.image or b"").decode()}
    if form.mask is not None:
        fields["mask_image"] = base64.b64encode(form.mask).decode()
        fields["invert_mask"] = True  # transparent repaints: OpenAI's way round
    return fields


EDIT_ROUTES: list[BaseRoute] = [
    Route("/images/edits", create_edit, methods=["POST"]),
]
