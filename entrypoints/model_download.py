"""The download command's front: a progress bar, one clear line per error, exit codes."""

from __future__ import annotations

import logging
import shutil
import sys
import threading
from typing import Any

from domain.errors import DomainError
from entrypoints.bootstrap import hub_model_store
from entrypoints.remedies import describe
from entrypoints.settings import Settings


def run_download(settings: Settings, force: bool) -> int:
    """Download the model into MODEL_DIR; 0 when it is complete, 1 with one line on stderr."""
    # The store turns every failure into one typed error, worded here; the library's own warnings
    # ("Couldn't access the Hub ...") would only repeat it less clearly.
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)
    bar = _ProgressBar(settings.model_repo_id)
    store = hub_model_store(settings)
    try:
        status = store.download(force=force, on_progress=bar)
    except DomainError as error:
        bar.close()
        print(f"error: {describe(error.problem, settings)}", file=sys.stderr)
        return 1
    bar.close()
    if not status.cached:  # defensive: download() raises rather than return a partial model
        print(f"error: still missing {', '.join(status.missing)}", file=sys.stderr)
        return 1
    print(f"{status.repo_id} is ready in {status.directory}")
    return 0


class _ProgressBar:
    """A tqdm bar on stderr, created on the first byte so that errors stay one line."""

    def __init__(self, description: str) -> None:
        self._description = description
        self._bar: Any = None
        self._lock = threading.Lock()  # fed from the download's worker threads

    def __call__(self, done: int, total: int) -> None:
        from huggingface_hub.utils.tqdm import tqdm

        with self._lock:
            if self._bar is None:
                size = shutil.get_terminal_size()  # (80, 24) when the terminal says 0
                # disable=None: draw on a terminal, stay quiet when stderr is a log file.
                # Explicit size: some terminals (containers, `script`) report 0x0, and tqdm
                # then hides the bar.
                self._bar = tqdm(  # type: ignore[no-untyped-call]
                    total=total, unit="B", unit_scale=True, unit_divisor=1024,
                    file=sys.stderr, desc=self._description, disable=None,
                    ncols=min(size.columns, 100), nrows=size.lines,
                )  # fmt: skip
            self._bar.total = total
            self._bar.update(done - self._bar.n)

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.close()
