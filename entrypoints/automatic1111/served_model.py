"""The served model as AUTOMATIC1111 names a checkpoint: `title`, `model_name`, `hash`,
`sha256`, `filename`.

A1111 hashes a checkpoint file; ours is a folder of OpenVINO files from a hub repository,
so the hash is the SHA-256 of ``<repo_id>@<revision>`` (``local`` when the revision is
unknown: files copied in by hand, or not yet downloaded). It identifies the model and its
revision, not a file, and stays the same for as long as they do.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from starlette.requests import Request

from application.ports import ModelStatus
from entrypoints.app_state import services


@dataclass(frozen=True)
class ServedModel:
    repo_id: str
    model_name: str
    """The repository's name without its owner, e.g. ``stable-diffusion-v1-5-int8-ov``."""
    sha256: str
    filename: str
    """The model folder's name: a client learns no path of the server's."""

    @property
    def hash(self) -> str:
        """A1111's short hash: the first 10 hex digits."""
        return self.sha256[:10]

    @property
    def title(self) -> str:
        """What A1111 clients show and send back as ``sd_model_checkpoint``."""
        return f"{self.model_name} [{self.hash}]"

    def is_named_by(self, name: str) -> bool:
        """Whether ``name`` is one of the names A1111 accepts for this checkpoint.

        A title whose " [hash]" differs names it too: the hash changes once, when the
        revision becomes known, and a client set up before (Open WebUI posts its saved
        title back before every generation) must go on working."""
        name = name.strip()
        names = {self.title, self.model_name, self.repo_id, self.hash, self.sha256, self.filename}
        return name in names or (name.endswith("]") and name.split(" [", 1)[0] in names)

    def as_sd_model(self) -> dict[str, object]:
        """One item of `GET /sdapi/v1/sd-models`."""
        return {
            "title": self.title,
            "model_name": self.model_name,
            "hash": self.hash,
            "sha256": self.sha256,
            "filename": self.filename,
            "config": None,
        }


def served_model_of(status: ModelStatus) -> ServedModel:
    identity = f"{status.repo_id}@{status.revision or 'local'}"
    return ServedModel(
        repo_id=status.repo_id,
        model_name=status.repo_id.rsplit("/", 1)[-1],
        sha256=hashlib.sha256(identity.encode("utf-8")).hexdigest(),
        filename=status.directory.name or status.repo_id.rsplit("/", 1)[-1],
    )


def served_model(request: Request) -> ServedModel:
    return served_model_of(services(request).service.health().model)
