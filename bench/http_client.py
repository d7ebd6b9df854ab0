"""Talking to a running service: one image over HTTP, /health polled while it renders."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from bench.configs import Params

# A full-size 768x768 image on 2 cores takes minutes; the harness waits as long as it takes.
_IMAGE_TIMEOUT = 3600.0


@dataclass(frozen=True)
class Served:
    seconds: float  # POST /image to the answer, image written to disk by the service
    path: Path
    timings_ms: dict[str, float]  # the service's own, from the PNG's provenance chunk


def post_image(base_url: str, generated: Path, params: Params) -> Served:
    body = {
        "prompt": params.prompt,
        "seed": params.seed,
        "width": params.width,
        "height": params.height,
        "num_inference_steps": params.steps,
        "guidance_scale": params.guidance_scale,
    }
    started = time.perf_counter()
    response = httpx.post(f"{base_url}/image", json=body, timeout=_IMAGE_TIMEOUT)
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"POST /image answered {response.status_code}: {response.text[:500]}")
    path = generated / response.json()["image_url"].rsplit("/", 1)[-1]
    return Served(seconds, path, _timings(path))


def _timings(path: Path) -> dict[str, float]:
    with Image.open(path) as picture:
        text = getattr(picture, "text", {}).get("provenance")
    if not text:
        return {}
    timings: dict[str, float] = json.loads(text).get("timings_ms", {})
    return {key: float(value) for key, value in timings.items()}


def wait_ready(base_url: str, timeout: float) -> float:
    """Seconds until /health/ready answers 200 (the model loaded and compiled)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            if httpx.get(f"{base_url}/health/ready", timeout=5).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{base_url} was not ready within {timeout:.0f} s")


@dataclass
class HealthPoller:
    """Polls GET /health every ``interval`` seconds in a thread, recording each latency."""

    base_url: str
    interval: float = 0.05
    latencies_ms: list[float] = field(default_factory=list)
    failures: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> HealthPoller:
        self._thread = threading.Thread(target=self._poll, name="health-poller", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _poll(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=10) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    ok = client.get("/health").status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = time.perf_counter() - started
                if ok:
                    self.latencies_ms.append(elapsed * 1000)
                else:
                    self.failures += 1
                self._stop.wait(max(0.0, self.interval - elapsed))


def _log_entries(log: str) -> Iterator[dict[str, Any]]:
    """The server's JSON log lines, parsed; anything else in the log is skipped."""
    for line in log.splitlines():
        if not line.startswith("{"):
            continue
        try:
            entry: dict[str, Any] = json.loads(line)
        except ValueError:
            continue
        yield entry


def load_seconds_from_log(log: str) -> float | None:
    """Model load time as the server logged it: first ``model_loading`` to ``service_ready``.

    From the first attempt: with OPENVINO_DEVICE=GPU and no GPU, the failed GPU load and
    the fallback are part of what a user waits for.
    """
    loading: datetime | None = None
    for entry in _log_entries(log):
        event, stamp = entry.get("event"), entry.get("timestamp")
        if not isinstance(stamp, str):
            continue
        if event == "model_loading" and loading is None:
            loading = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        elif event == "service_ready" and loading is not None:
            ready = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            return (ready - loading).total_seconds()
    return None


def pipeline_compiles_from_log(log: str) -> list[dict[str, Any]]:
    """Every ``pipeline_compiled`` line: the start-up compile and each static/dynamic swap."""
    return [
        {key: entry.get(key) for key in ("shape", "guided", "duration_ms")}
        for entry in _log_entries(log)
        if entry.get("event") == "pipeline_compiled"
    ]
