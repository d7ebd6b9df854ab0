"""What the service's middleware costs a request that does no work of its own.

The service runs in demo mode (USE_MOCKS=true, no model) as a real uvicorn process per
variant: without keys, with a key sent as `Authorization: Bearer`, with the session cookie
`POST /session` hands out, and optionally another checkout of the project (the baseline,
"today"). One image is made on each, then every variant sends the same sequential requests
over one keep-alive connection: `GET /health`, `GET /health/live` and the image's PNG.
The variants take turns in short rounds, the order rotating, so the host's drift hits all
alike; a ratio to the reference is taken within each round (bench/request_overhead_stats.py).
The servers: bench/demo_service.py.

    python -m bench.request_overhead --baseline DIR [--requests N] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.demo_service import baseline_checkout, demo_service
from bench.models import PROJECT_ROOT
from bench.request_overhead_stats import ROUTES, Samples, summarize

BASELINE, NO_KEYS, BEARER, SESSION = "baseline", "no_keys", "bearer", "session"
_IMAGE = {"prompt": "request overhead", "seed": 1, "num_inference_steps": 1}


@dataclass(frozen=True)
class OverheadPlan:
    requests: int = 2000  # measured per route and variant
    warmup: int = 200  # per route and variant, before the first round, not recorded
    # Per route and variant in a round: small, so a connection idles far less than the
    # server's keep-alive timeout (5 s) while the other variants take their turn.
    per_round: int = 20
    baseline: Path | None = None  # another checkout, served by this Python


@dataclass
class Variant:
    name: str
    client: httpx.Client
    paths: dict[str, str]  # route label -> the path requested


def run_request_overhead(
    project: Path, work: Path, plan: OverheadPlan, log: Callable[[str], None] = print
) -> dict[str, Any]:
    skipped: dict[str, str] = {}
    served_from: dict[str, str] = {}
    with ExitStack() as stack:
        variants: list[Variant] = []
        if plan.baseline is not None:
            base_url = stack.enter_context(demo_service(plan.baseline, work, BASELINE, {}))
            served_from[BASELINE] = str(plan.baseline)
            variants.append(_open_variant(stack, BASELINE, base_url))
        base_url = stack.enter_context(demo_service(project, work, NO_KEYS, {}))
        served_from[NO_KEYS] = str(project)
        variants.append(_open_variant(stack, NO_KEYS, base_url))
        variants += _keyed_variants(stack, project, work, skipped)
        for name in (BEARER, SESSION):
            if name not in skipped:
                served_from[name] = str(project)
        log(f"  request overhead: {', '.join(v.name for v in variants)} ready")
        samples = measure(variants, plan)
    reference = BASELINE if plan.baseline is not None else NO_KEYS
    return {
        "plan": {
            "requests": plan.requests,
            "warmup": plan.warmup,
            "per_round": plan.per_round,
            "image": {**_IMAGE, "width": 512, "height": 512},
        },
        "served_from": served_from,
        "skipped": skipped,
        **summarize(samples, reference),
    }


def _keyed_variants(
    stack: ExitStack, project: Path, work: Path, skipped: dict[str, str]
) -> list[Variant]:
    if not (project / "entrypoints" / "authentication.py").is_file():
        reason = "no entrypoints/authentication.py in this tree yet: API keys are not enforced"
        skipped.update({BEARER: reason, SESSION: reason})
        return []
    key = secrets.token_urlsafe(24)
    base_url = stack.enter_context(
        demo_service(project, work, "keyed", {"API_KEYS": f"bench:{key}"})
    )
    refused = httpx.get(f"{base_url}/jobs", timeout=10).status_code
    if refused != 401:
        reason = f"API_KEYS set but GET /jobs without a key answered {refused}, not 401"
        skipped.update({BEARER: reason, SESSION: reason})
        return []
    bearer = stack.enter_context(_client(base_url, {"Authorization": f"Bearer {key}"}))
    variants = [Variant(BEARER, bearer, _paths(bearer))]
    answer = httpx.post(f"{base_url}/session", json={"key": key}, timeout=10)
    if not answer.is_success or not answer.cookies:
        skipped[SESSION] = f"POST /session answered {answer.status_code} without a cookie"
        return variants
    # Sent as a fixed header, as a browser does: httpx's cookie jar would add its own
    # time (http.cookiejar, per request) to the server's.
    cookie = "; ".join(f"{name}={value}" for name, value in answer.cookies.items())
    session = stack.enter_context(_client(base_url, {"Cookie": cookie}))
    # The cookie names the same client as the key, so the Bearer variant's image is its own.
    variants.append(Variant(SESSION, session, variants[0].paths))
    return variants


def _open_variant(stack: ExitStack, name: str, base_url: str) -> Variant:
    client = stack.enter_context(_client(base_url, {}))
    return Variant(name, client, _paths(client))


@contextmanager
def _client(base_url: str, headers: dict[str, str]) -> Iterator[httpx.Client]:
    # One connection, kept alive: what a UI polling /health or loading images holds.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    with httpx.Client(base_url=base_url, headers=headers, limits=limits, timeout=60) as client:
        yield client


def _paths(client: httpx.Client) -> dict[str, str]:
    answer = client.post("/image", json=_IMAGE)
    if answer.status_code != 200:
        raise RuntimeError(f"POST /image answered {answer.status_code}: {answer.text[:300]}")
    image: str = answer.json()["image_url"]
    return dict(zip(ROUTES, ("/health", "/health/live", image), strict=True))


def measure(variants: list[Variant], plan: OverheadPlan) -> Samples:
    """Milliseconds per request, by variant, route and round; the order rotates per round."""
    for variant in variants:
        for _ in range(plan.warmup):
            for route in ROUTES:
                _timed_ms(variant, route)
    samples: Samples = {v.name: {route: [] for route in ROUTES} for v in variants}
    rounds = -(-plan.requests // plan.per_round)
    for index in range(rounds):
        count = min(plan.per_round, plan.requests - index * plan.per_round)
        shift = index % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            times: dict[str, list[float]] = {route: [] for route in ROUTES}
            for _ in range(count):
                for route in ROUTES:
                    times[route].append(_timed_ms(variant, route))
            for route in ROUTES:
                samples[variant.name][route].append(times[route])
    return samples


def _timed_ms(variant: Variant, route: str) -> float:
    started = time.perf_counter()
    response = variant.client.get(variant.paths[route])  # the whole body is read
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(
            f"{variant.name}: GET {route} answered {response.status_code}: {response.text[:300]}"
        )
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.request_overhead", description=__doc__)
    parser.add_argument("--project", type=Path, default=PROJECT_ROOT, help="the tree measured")
    parser.add_argument("--baseline", type=Path, help="another checkout, measured alongside")
    parser.add_argument("--baseline-ref", help="a git ref of this repository, as the baseline")
    parser.add_argument("--requests", type=int, default=OverheadPlan.requests)
    parser.add_argument("--warmup", type=int, default=OverheadPlan.warmup)
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "bench" / "cache" / "work")
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args(argv)
    baseline = args.baseline
    if args.baseline_ref:
        baseline = baseline_checkout(args.baseline_ref)
    plan = OverheadPlan(args.requests, args.warmup, baseline=baseline)
    result = run_request_overhead(args.project.resolve(), args.work, plan)
    from bench.report_sections import request_overhead_section

    print("\n".join(request_overhead_section(result)))
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
