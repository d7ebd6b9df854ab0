"""`GET /v1/models` and `GET /v1/models/{id}`: the served model, as OpenAI lists one."""

from __future__ import annotations

from pathlib import Path

from openai.types import Model
from pydantic import SecretStr
from starlette.testclient import TestClient

from entrypoints.app import create_app
from tests.conftest import make_settings

SERVED = "OpenVINO/stable-diffusion-v1-5-int8-ov"


def test_the_list_holds_the_served_model(mock_client: TestClient) -> None:
    response = mock_client.get("/v1/models")
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    [model] = body["data"]
    assert set(model) == set(Model.model_fields) - {"shutdown_date"}
    parsed = Model.model_validate(model)
    assert (parsed.id, parsed.object, parsed.owned_by) == (SERVED, "model", "local-sd")


def test_the_served_model_is_found_by_its_id(mock_client: TestClient) -> None:
    response = mock_client.get(f"/v1/models/{SERVED}")
    assert response.status_code == 200
    assert response.json() == mock_client.get("/v1/models").json()["data"][0]


def test_created_is_when_the_model_arrived(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, use_mocks=True)
    settings.model_dir.mkdir(parents=True)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        model = client.get("/v1/models").json()["data"][0]
    assert model["created"] == int(settings.model_dir.stat().st_mtime)


def test_another_name_is_not_a_model_here(mock_client: TestClient) -> None:
    for name in ("dall-e-3", "gpt-image-1", "OpenVINO/other"):
        assert mock_client.get(f"/v1/models/{name}").status_code == 404


def test_an_api_key_is_taken_as_a_bearer_token(tmp_path: Path) -> None:
    keys = SecretStr("alice:alice-key-0123456789")
    app = create_app(make_settings(tmp_path, use_mocks=True, api_keys=keys))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/v1/models").status_code == 401
        bearer = {"authorization": "Bearer alice-key-0123456789"}
        assert client.get("/v1/models", headers=bearer).status_code == 200


def test_an_unknown_model_is_openais_model_not_found(mock_client: TestClient) -> None:
    response = mock_client.get("/v1/models/dall-e-3")
    assert response.status_code == 404
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "model_not_found",
        "model",
    )
    assert "dall-e-3" in error["message"] and SERVED in error["message"]
    # Any other 404 under /v1 names no model.
    other = mock_client.get("/v1/no-such-route").json()["error"]
    assert other["code"] != "model_not_found" and other["param"] is None
