"""The service, the raw engine it runs and stock diffusers, loaded side by side, in turns.

The configurations run one after another, minutes apart, and this host's speed moves by
tens of percent in minutes. Here the members stay loaded together and take turns, one
image each per round, the order rotating from round to round; each ratio is taken within
a round and the median over the rounds is reported. Loads and warm-ups happen before the
first round and are not timed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from bench.configs import Params
from bench.http_client import post_image, wait_ready
from bench.models import PROJECT_ROOT, Models
from bench.raw import raw_job
from bench.service import service_env
from bench.stats import median
from bench.worker import READY_LINE, RESULT_PREFIX
from tests.support.live_server import live_server
from tests.support.sd15_build import offline_env

SERVICE = "service_http"
RAW = "genai_int8_static"  # the engine and shape the service runs by default
STOCK = "stock_diffusers_fp32"

# One generation: its seconds and its median UNet call (None when not reported).
Turn = Callable[[Params], dict[str, Any]]

_READY_TIMEOUT = 1800.0


def run_interleaved(
    models: Models,
    params: Params,
    work: Path,
    device: str,
    log: Callable[[str], None],
    *,
    with_stock: bool,
) -> dict[str, Any]:
    members = [RAW, SERVICE] + ([STOCK] if with_stock else [])
    rounds: list[dict[str, dict[str, Any]]] = []
    with ExitStack() as stack:
        turns: dict[str, Turn] = {}
        for name in members:
            if name == SERVICE:
                turns[name] = stack.enter_context(_service(models.openvino, work))
            else:
                model = models.diffusers if name == STOCK else models.openvino
                assert model is not None
                turns[name] = stack.enter_context(_raw(name, model, work, params, device))
            turns[name](replace(params, steps=min(params.steps, 2)))  # first-call allocations
            log(f"  {name}: loaded and warmed up")
        for index in range(params.runs):
            order = members[index % len(members) :] + members[: index % len(members)]
            row = {name: turns[name](params) for name in order}
            log(
                f"  round {index + 1}: "
                + ", ".join(f"{n} {row[n]['seconds']:.2f} s" for n in order)
            )
            rounds.append(row)
    return {
        "members": members,
        "params": params.to_json(),
        "rounds": rounds,
        **_summary(rounds, members),
    }


def _summary(rounds: list[dict[str, dict[str, Any]]], members: list[str]) -> dict[str, Any]:
    seconds = {name: median([row[name]["seconds"] for row in rounds]) for name in members}
    summary: dict[str, Any] = {"seconds_per_image": seconds}
    summary["service_over_raw"] = [row[SERVICE]["seconds"] / row[RAW]["seconds"] for row in rounds]
    if STOCK in members:
        summary["stock_over_service"] = [
            row[STOCK]["seconds"] / row[SERVICE]["seconds"] for row in rounds
        ]
    return summary


@contextmanager
def _service(model_dir: Path, work: Path) -> Iterator[Turn]:
    env = service_env(f"{SERVICE}-in-turns", model_dir, "genai", work)
    generated = Path(env["GENERATED_DIR"])
    log_path = work / "logs" / f"{SERVICE}-in-turns.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with live_server(env, log_path, ready_timeout=300) as server:
            wait_ready(server.base_url, _READY_TIMEOUT)

            def turn(params: Params) -> dict[str, Any]:
                served = post_image(server.base_url, generated, params)
                unet_ms = served.timings_ms.get("unet_per_call")
                unet = None if unet_ms is None else unet_ms / 1000
                return {"seconds": served.seconds, "unet_call_seconds": unet}

            yield turn
    finally:
        shutil.rmtree(env["OV_CACHE_DIR"], ignore_errors=True)  # ~3 GB for the full model


@contextmanager
def _raw(config: str, model_dir: Path, work: Path, params: Params, device: str) -> Iterator[Turn]:
    job = {**raw_job(config, model_dir, work, params, device), "mode": "serve"}
    job_path = work / f"{config}-in-turns.job.json"
    job_path.write_text(json.dumps(job), encoding="utf-8")
    log_path = work / "logs" / f"{config}-in-turns.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log_file:
        process = subprocess.Popen(
            # The worker writes its peak RSS there when its input ends; the turns do not use it.
            [
                sys.executable,
                "-m",
                "bench.worker",
                str(job_path),
                str(work / f"{config}-in-turns.result.json"),
            ],
            cwd=PROJECT_ROOT,
            env=offline_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
        )
        assert process.stdin is not None
        assert process.stdout is not None
        stdin, stdout = process.stdin, process.stdout
        try:
            _read_until(stdout, log_file, READY_LINE, config)

            def turn(params: Params) -> dict[str, Any]:
                stdin.write(json.dumps(params.to_json()) + "\n")
                stdin.flush()
                answer: dict[str, Any] = json.loads(
                    _read_until(stdout, log_file, RESULT_PREFIX, config)
                )
                return answer

            yield turn
        finally:
            stdin.close()  # end of input: the worker's loop ends and it exits
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            stdout.close()
            shutil.rmtree(job["cache_dir"], ignore_errors=True)


def _read_until(stdout: IO[str], log_file: IO[str], marker: str, config: str) -> str:
    """The rest of the first stdout line starting with ``marker``; other lines go to the log."""
    for line in stdout:
        if line.startswith(marker):
            return line[len(marker) :].strip()
        log_file.write(line)
        log_file.flush()
    raise RuntimeError(f"{config}'s worker ended before {marker.strip()!r}; see its log")
