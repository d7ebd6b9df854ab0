"""Past images through the app: listing, records, delete, restart, interrupted jobs, retention."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from PIL import Image
from starlette.testclient import TestClient

from entrypoints.app import create_app
from tests.conftest import make_settings

SMALL = {"width": 64, "height": 64, "num_inference_steps": 2}
ROOT = Path(__file__).resolve().parents[2]


def client_for(tmp_path: Path, **settings: object) -> TestClient:
    app = create_app(make_settings(tmp_path, use_mocks=True, **settings))
    return TestClient(app, base_url="http://127.0.0.1")


def generate(client: TestClient, prompt: str, **extra: object) -> dict[str, Any]:
    response = client.post("/image", json={"prompt": prompt, **SMALL, **extra})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_listing_is_newest_first_and_paginated(tmp_path: Path) -> None:
    with client_for(tmp_path) as client:
        ids = [generate(client, f"prompt {n}")["job_id"] for n in range(5)]
        first = client.get("/images", params={"limit": 2}).json()
        assert [entry["job_id"] for entry in first["images"]] == ids[::-1][:2]
        assert first["next_before"] == ids[3]
        second = client.get("/images", params={"limit": 2, "before": first["next_before"]})
        assert [entry["job_id"] for entry in second.json()["images"]] == [ids[2], ids[1]]
        last = client.get("/images", params={"limit": 2, "before": ids[1]}).json()
        assert [entry["job_id"] for entry in last["images"]] == [ids[0]]
        assert last["next_before"] is None
        assert first["images"][0]["params"]["prompt"] == "prompt 4"
        assert client.get("/images", params={"limit": 0}).status_code == 422
        assert client.get("/images", params={"limit": "x"}).status_code == 422


def test_png_chunks_and_sidecar_carry_the_provenance(tmp_path: Path) -> None:
    with client_for(tmp_path) as client:
        body = generate(client, "a heron", negative_prompt="blur", seed=77, scheduler="euler")
        png = client.get(str(body["image_url"])).content
        record = client.get(f"/images/{body['job_id']}.json").json()
    info = Image.open(io.BytesIO(png)).info
    assert info["parameters"] == (
        "a heron\nNegative prompt: blur\nSteps: 2, Sampler: Euler, CFG scale: 7.5, Seed: 77, "
        "Size: 64x64, Model: OpenVINO/stable-diffusion-v1-5-int8-ov"
    )
    provenance = json.loads(info["provenance"])
    assert provenance["request"]["seed"] == 77
    assert provenance["scheduler"] == "euler"
    assert provenance["model"]["repo_id"] == "OpenVINO/stable-diffusion-v1-5-int8-ov"
    assert provenance["engine"]["engine"] == "mock"
    assert provenance["device"] == "mock"
    sidecar = json.loads((tmp_path / "generated" / f"{body['job_id']}.json").read_text())
    assert sidecar["job_id"] == body["job_id"] and sidecar["status"] == "succeeded"
    assert sidecar["request"]["negative_prompt"] == "blur"
    assert record["job_id"] == body["job_id"]


def test_delete_removes_image_and_record(tmp_path: Path) -> None:
    with client_for(tmp_path) as client:
        body = generate(client, "x", num_images=2)
        names = [Path(image["url"]).name for image in body["images"]]
        deleted = client.delete(f"/images/{body['job_id']}")
        assert deleted.json() == {"deleted": body["job_id"], "images": names}
        assert client.get(str(body["image_url"])).status_code == 404
        assert client.get(f"/images/{body['job_id']}.json").status_code == 404
        assert client.delete(f"/images/{body['job_id']}").status_code == 404
    assert sorted(p.name for p in (tmp_path / "generated").iterdir()) == []


def test_history_survives_a_restart_and_interrupted_jobs_show_as_failed(tmp_path: Path) -> None:
    with client_for(tmp_path) as client:
        kept = generate(client, "kept")
    generated = tmp_path / "generated"
    record = json.loads((generated / f"{kept['job_id']}.json").read_text())
    # The record as written when the job started; the process died after saving its PNG.
    crashed = {**record, "job_id": "crashed1", "status": "running", "completed_at": None}
    crashed["images"] = []
    (generated / "crashed1.json").write_text(json.dumps(crashed))
    (generated / "crashed1.png").write_bytes((generated / f"{kept['job_id']}.png").read_bytes())
    (generated / ".partial-abc.png").write_bytes(b"half a png")
    with client_for(tmp_path) as client:
        listed = client.get("/images").json()["images"]
        assert [entry["job_id"] for entry in listed] == [kept["job_id"]]
        job = client.get("/jobs/crashed1").json()
        assert job["status"] == "failed"
        assert job["error"]["type"] == "interrupted"
        assert job["images"] == []
        listed_jobs = {entry["job_id"] for entry in client.get("/jobs").json()["jobs"]}
        assert listed_jobs == {"crashed1", kept["job_id"]}
        assert client.get(str(kept["image_url"])).status_code == 200
    assert not (generated / ".partial-abc.png").exists()
    assert not (generated / "crashed1.png").exists()
    assert json.loads((generated / "crashed1.json").read_text())["status"] == "failed"


def test_retention_applies_after_each_job(tmp_path: Path) -> None:
    with client_for(tmp_path, retention_max_images=2) as client:
        ids = [generate(client, f"p{n}")["job_id"] for n in range(4)]
        listed = [entry["job_id"] for entry in client.get("/images").json()["images"]]
    assert listed == [ids[3], ids[2]]
    assert sorted(p.name for p in (tmp_path / "generated").iterdir()) == sorted(
        [f"{ids[2]}.json", f"{ids[2]}.png", f"{ids[3]}.json", f"{ids[3]}.png"]
    )


def test_deleted_and_expired_jobs_leave_the_job_list(tmp_path: Path) -> None:
    with client_for(tmp_path, retention_max_images=2) as client:
        ids = [generate(client, f"p{n}")["job_id"] for n in range(3)]
        assert client.get(f"/jobs/{ids[0]}").status_code == 404  # removed by retention
        assert client.delete(f"/images/{ids[1]}").status_code == 200
        assert client.get(f"/jobs/{ids[1]}").status_code == 404
        assert [entry["job_id"] for entry in client.get("/jobs").json()["jobs"]] == [ids[2]]
    # Retention at startup: what it removes is not listed either.
    with client_for(tmp_path, retention_max_images=0) as client:
        assert client.get("/jobs").json()["jobs"] == []
        assert client.get(f"/jobs/{ids[2]}").status_code == 404


def test_retention_command_reports_what_it_removed(tmp_path: Path) -> None:
    with client_for(tmp_path) as client:
        ids = [generate(client, f"p{n}")["job_id"] for n in range(3)]
    env = {
        "PATH": "/usr/bin:/bin",
        "GENERATED_DIR": str(tmp_path / "generated"),
        "RETENTION_MAX_IMAGES": "1",
        "MODEL_DIR": str(tmp_path / "models"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "retention"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "Removed 2 jobs (2 images)" in result.stdout
    assert ids[0] in result.stdout and ids[1] in result.stdout
    remaining = sorted(p.name for p in (tmp_path / "generated").iterdir())
    assert remaining == [f"{ids[2]}.json", f"{ids[2]}.png"]


def test_a_limit_that_is_not_an_ascii_integer_in_range_is_422_with_a_detail(
    tmp_path: Path,
) -> None:
    with client_for(tmp_path) as client:
        # `²` passes str.isdigit but not int(); 5000 digits pass isdigit but not int() either.
        for limit in ("²", "9" * 5000, "0", "101", "-1", "1_0", "+5", "", "٣"):
            response = client.get("/images", params={"limit": limit})
            assert response.status_code == 422, limit
            error = response.json()["error"]
            assert error["type"] == "validation_error"
            assert [detail["field"] for detail in error["details"]] == ["limit"], limit
        message = client.get("/images?limit=0").json()["error"]["details"][0]["message"]
        assert message == "Must be between 1 and 100."
        assert client.get("/images", params={"limit": "100"}).status_code == 200
