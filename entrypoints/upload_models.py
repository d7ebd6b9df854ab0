"""The upload routes' answers as pydantic models, published in `/openapi.json`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class UploadAnswer(BaseModel):
    """An uploaded input image, stored as an 8-bit sRGB PNG (RGBA when it has transparency)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description='Give it as `init_image` or `mask_image`: {"upload_id": id}.')
    width: int
    height: int
    sha256: str = Field(description="Of the stored PNG, which `url` serves.")
    size_bytes: int = Field(description="Of the stored PNG.")
    source_format: Literal["PNG", "JPEG", "WEBP"] = Field(description="What was sent.")
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    url: str = Field(description="The stored PNG.")


class UploadList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uploads: list[UploadAnswer] = Field(description="Newest first.")
