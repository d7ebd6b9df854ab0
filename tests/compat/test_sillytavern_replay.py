"""SillyTavern's AUTOMATIC1111 source ("auto"), replayed request for request.

Read from SillyTavern/SillyTavern: src/endpoints/stable-diffusion.js at commit
02903fdd3ad33dc642fb328e43d0a8b3724e1a38 (the server side: /ping, /upscalers, /vaes,
/samplers, /schedulers, /models, /get-model, /set-model, /generate) and src/util.js at
01ccc3227427f8b4d7a0b8b3e361e3de2c6b1efd (`getBasicAuthHeader(auth)`: `Basic ` + base64 of
the `auth` setting, "" by default). The txt2img body is the page's `generateAutoImage`
(public/scripts/extensions/stable-diffusion/index.js, stored at commit
41ac2c07b2c8a7e929d013f029f53da331974e6e) with the fields later versions add: scheduler,
seed only when set, override_settings with CLIP_stop_at_last_layers, clip_skip,
hr_additional_modules. SillyTavern's server posts the page's whole body to txt2img, its own
`url` and `auth` included, and when the page goes away it POSTs `interrupt` and aborts the
txt2img request.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.compat.pictures import decoded_png
from tests.compat.servers import ALICE_KEY, basic_authorization
from tests.support.live_server import LiveServer
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server


def _page_body(server: LiveServer, auth: str, **settings: Any) -> dict[str, Any]:
    """generateAutoImage's body with SillyTavern's default settings (sampler DDIM,
    scheduler "normal", 20 steps, scale 7, 512x512, clip_skip 1, no VAE, no seed)."""
    body: dict[str, Any] = {
        "url": server.base_url,
        "auth": auth,
        "prompt": "best quality, absurdres, aesthetic, a girl reading in a cafe",
        "negative_prompt": "lowres, bad anatomy, bad hands, text, error, cropped",
        "sampler_name": "DDIM",
        "scheduler": "normal",
        "steps": 20,
        "cfg_scale": 7,
        "width": 512,
        "height": 512,
        "restore_faces": False,
        "enable_hr": False,
        "hr_upscaler": "Latent",
        "hr_scale": 2.0,
        "hr_additional_modules": [],
        "denoising_strength": 0.7,
        "hr_second_pass_steps": 0,
        # sd_vae and forge_additional_modules are undefined without a VAE chosen, and
        # JSON.stringify drops them.
        "override_settings": {"CLIP_stop_at_last_layers": 1},
        "override_settings_restore_afterwards": True,
        "clip_skip": 1,
        "save_images": True,
        "send_images": True,
        "do_not_save_grid": False,
        "do_not_save_samples": False,
    }
    return body | settings


def _connect(http: httpx.Client) -> dict[str, Any]:
    """What the settings page does on "Connect", each answer used as SillyTavern uses it."""
    http.get("/sdapi/v1/options").raise_for_status()  # /ping: result.ok
    upscalers = http.get("/sdapi/v1/upscalers")
    latent = http.get("/sdapi/v1/latent-upscale-modes")
    assert upscalers.is_success and latent.is_success
    upscaler_names = [item["name"] for item in upscalers.json()]
    upscaler_names[1:1] = [item["name"] for item in latent.json()]
    # /vaes: both asked, the first that answers an array is used.
    vaes = [http.get("/sdapi/v1/sd-vae"), http.get("/sdapi/v1/sd-modules")]
    vae_list = next(answer.json() for answer in vaes if answer.is_success)
    assert isinstance(vae_list, list)
    vae_names = [item["model_name"] for item in vae_list]
    samplers = http.get("/sdapi/v1/samplers")
    schedulers = http.get("/sdapi/v1/schedulers")
    models = http.get("/sdapi/v1/sd-models")
    assert samplers.is_success and schedulers.is_success and models.is_success
    sampler_names = [item["name"] for item in samplers.json()]
    scheduler_names = [item["name"] for item in schedulers.json()]
    model_options = [{"value": item["title"], "text": item["title"]} for item in models.json()]
    current = http.get("/sdapi/v1/options").json()["sd_model_checkpoint"]  # /get-model
    assert all(isinstance(name, str) for name in upscaler_names + vae_names)
    assert "DDIM" in sampler_names and all(isinstance(n, str) for n in scheduler_names)
    assert current in [option["value"] for option in model_options]
    return {"model": current, "samplers": sampler_names}


def _set_model(http: httpx.Client, model: str) -> None:
    """/set-model: POST options {sd_model_checkpoint}, then poll progress (10 times, 2 s
    apart) until `progress === 0.0 && job_count === 0`; here the first poll must say so."""
    http.post("/sdapi/v1/options", json={"sd_model_checkpoint": model}).raise_for_status()
    progress = http.get("/sdapi/v1/progress").json()
    assert progress["progress"] == 0 and progress["state"]["job_count"] == 0


@pytest.mark.parametrize("keyed", [False, True], ids=["no-keys", "alice"])
def test_connect_set_model_and_generate(
    keyed: bool, open_mock_server: LiveServer, keyed_mock_server: LiveServer
) -> None:
    server = keyed_mock_server if keyed else open_mock_server
    auth = f"alice:{ALICE_KEY}" if keyed else ""
    headers = {"Authorization": basic_authorization(auth)}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=120) as http:
        connected = _connect(http)
        _set_model(http, connected["model"])
        # /generate: GET options ('forge_preset' in it would mean Forge), then txt2img.
        assert "forge_preset" not in http.get("/sdapi/v1/options").json()
        body = _page_body(server, auth, steps=2 if not keyed else 20, width=128, height=96)
        answer = http.post(
            "/sdapi/v1/txt2img",
            content=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert decoded_png(data["images"][0]).size == (128, 96)  # { format: 'png', data }
    info = json.loads(data["info"])
    assert info["sampler_name"] == "DDIM"
    assert info["steps"] == body["steps"]


def test_interrupt_when_the_page_leaves(open_mock_server: LiveServer) -> None:
    """The page goes away mid-generation: SillyTavern POSTs interrupt (no body) and aborts
    its txt2img request. The job is stopped and the queue is empty again."""
    headers = {"Authorization": basic_authorization("")}
    body = _page_body(open_mock_server, "", steps=100, width=64, height=64, prompt="a long wait")
    with (
        _post_then_abort(open_mock_server, "/sdapi/v1/txt2img", body, headers),
        httpx.Client(base_url=open_mock_server.base_url, headers=headers, timeout=30) as http,
    ):
        wait_until(
            lambda: http.get("/sdapi/v1/progress").json()["state"]["sampling_step"] > 0,
            "the txt2img job to be running",
            context=open_mock_server.log,
        )
        assert http.post("/sdapi/v1/interrupt").status_code == 200
    # The txt2img connection is closed now, as node-fetch's abort closes it.
    with httpx.Client(base_url=open_mock_server.base_url, headers=headers, timeout=30) as http:
        wait_until(
            lambda: http.get("/sdapi/v1/progress").json()["state"]["job_count"] == 0,
            "the queue to be empty after the interrupt",
            context=open_mock_server.log,
        )
        jobs = http.get("/jobs").json()["jobs"]
    waited = [job for job in jobs if job["params"]["prompt"] == "a long wait"]
    assert len(waited) == 1 and waited[0]["status"] == "cancelled", waited


@contextmanager
def _post_then_abort(
    server: LiveServer, path: str, body: Any, headers: dict[str, str]
) -> Iterator[None]:
    """A POST sent on a plain socket, never read, closed on leaving: a client that aborts."""
    address = urlsplit(server.base_url)
    payload = json.dumps(body).encode()
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {address.netloc}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
    with socket.create_connection((str(address.hostname), int(address.port or 80))) as sock:
        sock.sendall(request)
        yield
