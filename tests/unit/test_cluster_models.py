"""Which workers may make a service's images: the same repository, and the same revision
where both sides know theirs."""

from __future__ import annotations

import pytest

from adapters.cluster_models import mismatch, queue_name

SD15 = "OpenVINO/stable-diffusion-v1-5-int8-ov"


@pytest.mark.parametrize(
    ("service", "worker", "why"),
    [
        ({"repo_id": SD15, "revision": "abc"}, {"repo_id": SD15, "revision": "abc"}, None),
        # A copy staged by hand has no known revision: not held against either side.
        ({"repo_id": SD15, "revision": None}, {"repo_id": SD15, "revision": "abc"}, None),
        ({"repo_id": SD15, "revision": "abc"}, {"repo_id": SD15, "revision": None}, None),
        (
            {"repo_id": SD15, "revision": "abc"},
            {"repo_id": SD15, "revision": "def"},
            f"revision def of {SD15} instead of abc",
        ),
        (
            {"repo_id": SD15, "revision": None},
            {"repo_id": "OpenVINO/LCM_Dreamshaper_v7-int8-ov", "revision": None},
            f"model OpenVINO/LCM_Dreamshaper_v7-int8-ov instead of {SD15}",
        ),
    ],
)
def test_a_worker_must_have_the_service_s_model(
    service: dict[str, str | None], worker: dict[str, str | None], why: str | None
) -> None:
    assert mismatch(service, worker) == why


def test_each_repository_has_a_queue_of_its_own() -> None:
    assert queue_name(SD15) != queue_name("OpenVINO/LCM_Dreamshaper_v7-int8-ov")
    assert ":" not in queue_name(SD15).removeprefix("local-sd:")  # SAQ splits keys on ':'
