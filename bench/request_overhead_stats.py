"""Request overhead's figures: latency percentiles per variant and route, and ratios per round.

A p99 of a few thousand requests moves by itself from run to run; two figures say how
much here: the p99 of the even rounds against that of the odd rounds (the same variant,
the same minutes), and each variant's p50 over the reference's, taken within each round.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.stats import median, percentile

# Route labels; the image's path differs per server.
ROUTES = ("/health", "/health/live", "/images/<id>.png")

# variant -> route -> one list of milliseconds per round
Samples = dict[str, dict[str, list[list[float]]]]


def summarize(samples: Samples, reference: str) -> dict[str, Any]:
    variants = {
        name: {route: _latency(rounds) for route, rounds in routes.items()}
        for name, routes in samples.items()
    }
    against: dict[str, Any] = {}
    if reference in samples:
        for name, routes in samples.items():
            if name == reference:
                continue
            against[name] = {
                route: _ratio(rounds, samples[reference][route])
                for route, rounds in routes.items()
                if route in samples[reference]
            }
    return {"reference": reference, "variants": variants, "against_reference": against}


def _latency(rounds: list[list[float]]) -> dict[str, Any]:
    flat = [ms for chunk in rounds for ms in chunk]
    even = [ms for chunk in rounds[0::2] for ms in chunk]
    odd = [ms for chunk in rounds[1::2] for ms in chunk]
    return {
        "count": len(flat),
        "p50_ms": percentile(flat, 0.50),
        "p99_ms": percentile(flat, 0.99),
        "max_ms": max(flat, default=float("nan")),
        "mean_ms": statistics.fmean(flat) if flat else float("nan"),
        "p99_even_odd_rounds_ms": [percentile(even, 0.99), percentile(odd, 0.99)],
    }


def _ratio(rounds: list[list[float]], reference: list[list[float]]) -> dict[str, Any]:
    """This variant's median over the reference's, round by round (the same minutes)."""
    per_round = [
        median(mine) / median(theirs)
        for mine, theirs in zip(rounds, reference, strict=False)
        if mine and theirs
    ]
    ratios: dict[str, Any] = {"rounds": len(per_round), "p50_ratio_median": median(per_round)}
    if len(per_round) >= 2:
        low, _, high = statistics.quantiles(per_round, n=4)
        ratios["p50_ratio_middle_half"] = [low, high]
    else:
        ratios["p50_ratio_middle_half"] = None
    return ratios
