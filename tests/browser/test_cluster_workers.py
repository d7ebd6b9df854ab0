"""The page on a service whose images other PCs make: the workers where the device was."""

from __future__ import annotations

import shutil
from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import DESKTOP, open_page
from tests.support.cluster_workers import running_worker
from tests.support.live_server import live_server
from tests.support.redis_server import running_redis
from tests.support.waiting import wait_until


def test_the_header_counts_the_workers_by_device(browser: Browser, tmp_path: Path) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server (Debian: apt-get install redis-server)")
    with ExitStack() as stack:
        redis = stack.enter_context(running_redis(tmp_path / "redis"))
        worker_env = {"QUEUE_URL": redis.url, "USE_MOCKS": "true"}
        workers = [
            stack.enter_context(running_worker(worker_env, tmp_path / f"w{i}.log"))
            for i in range(2)
        ]
        env = {
            "QUEUE_URL": redis.url,
            "LOCAL_WORKER": "false",
            "GENERATED_DIR": str(tmp_path / "generated"),
            "MODEL_DIR": str(tmp_path / "models"),
        }
        server = stack.enter_context(live_server(env, tmp_path / "server.log"))
        server.wait_for_health(
            lambda h: len((h.get("cluster") or {}).get("workers", [])) == 2, "both workers"
        )
        wait_until(lambda: all(w.worker_id for w in workers), "both workers' ids")
        with open_page(browser, server, DESKTOP) as page:
            page.goto("/")
            badge = page.locator("#health-device")
            expect(badge).to_have_text("2 workers: 2 mock")
            title = badge.get_attribute("title") or ""
            assert title.count("(mock)") == 2
