"""Which model a cluster renders with: a queue per model repository, and the service's model
published for the workers to check theirs against.

A worker with another repository's model listens on another queue, so it never takes this
service's images; one with another revision of the same repository sees the mismatch in
what the service published and stops. Both sides say so in their logs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from saq.queue.redis import RedisQueue

QUEUE_PREFIX = "local-sd"
SERVICE_KEY = "local-sd:service"
SERVICE_SECONDS = 30
"""How long the service's model stays published without being renewed."""


def queue_name(repo_id: str) -> str:
    return f"{QUEUE_PREFIX}:{repo_id}"


def open_queue(url: str, repo_id: str) -> RedisQueue:
    """The queue of ``repo_id``'s images at ``url`` (redis:// or rediss://)."""
    return RedisQueue.from_url(url, name=queue_name(repo_id))


def mismatch(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> str | None:
    """Why a worker's model is not the service's, or None; a revision one side does not
    know (a model staged by hand) is not held against it."""
    if expected.get("repo_id") != actual.get("repo_id"):
        return f"model {actual.get('repo_id')} instead of {expected.get('repo_id')}"
    ours, theirs = expected.get("revision"), actual.get("revision")
    if ours and theirs and ours != theirs:
        return f"revision {theirs} of {actual.get('repo_id')} instead of {ours}"
    return None


async def publish_service_model(queue: RedisQueue, model: Mapping[str, Any]) -> None:
    await queue.redis.set(SERVICE_KEY, json.dumps(dict(model)), ex=SERVICE_SECONDS)


async def service_model(queue: RedisQueue) -> dict[str, Any] | None:
    """The model the service published, or None while no service runs."""
    raw = await queue.redis.get(SERVICE_KEY)
    if raw is None:
        return None
    found: Any = json.loads(raw)
    return found if isinstance(found, dict) else None


async def workers_elsewhere(queue: RedisQueue) -> dict[str, dict[str, Any]]:
    """Workers registered on another model's queue: their descriptions by id."""
    own = f"saq:{queue.name}:worker_info:"
    keys = [
        key.decode() if isinstance(key, bytes) else str(key)
        async for key in queue.redis.scan_iter(match=f"saq:{QUEUE_PREFIX}:*:worker_info:*")
    ]
    keys = [key for key in keys if not key.startswith(own)]
    if not keys:
        return {}
    found: dict[str, dict[str, Any]] = {}
    for key, raw in zip(keys, await queue.redis.mget(keys), strict=True):
        metadata = (json.loads(raw) or {}).get("metadata") if raw else None
        if isinstance(metadata, dict):
            found[key.rsplit(":", 1)[1]] = metadata
    return found


async def registrations(queue: RedisQueue, kept_seconds: float) -> dict[str, float]:
    """When each worker of ``queue`` last renewed its registration (epoch seconds): SAQ
    scores each registration with the time it expires, ``kept_seconds`` after it was made."""
    scored = await queue.redis.zrange(queue.namespace("stats"), 0, -1, withscores=True)
    renewed = {}
    for member, expires_ms in scored:
        key = member.decode() if isinstance(member, bytes) else str(member)
        renewed[key.rsplit(":", 1)[1]] = float(expires_ms) / 1000 - kept_seconds
    return renewed
