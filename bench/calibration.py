"""How fast the machine is right now, recorded before each configuration.

On a shared or virtual machine the CPU's speed drifts with what else runs on the host;
a ratio between two configurations means little if the machine changed speed between
them. A one-second float32 matmul loop (numpy, all cores) before each configuration
makes that drift visible in the results instead of hiding inside them.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

_SIZE = 1024
_FLOPS_PER_MATMUL = 2 * _SIZE**3


def machine_state(seconds: float = 1.0) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    a = rng.random((_SIZE, _SIZE), dtype=np.float32)
    b = rng.random((_SIZE, _SIZE), dtype=np.float32)
    a @ b  # the first call pays for thread start-up
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        a @ b
        count += 1
    elapsed = time.perf_counter() - started
    return {
        "matmul_gflops": count * _FLOPS_PER_MATMUL / elapsed / 1e9,
        "load_average_1min": os.getloadavg()[0],
    }


def drift(states: list[dict[str, Any]]) -> float | None:
    """The spread of the machine's speed over the run: (fastest - slowest) / fastest."""
    speeds = [float(state["matmul_gflops"]) for state in states]
    if len(speeds) < 2:
        return None
    return (max(speeds) - min(speeds)) / max(speeds)
