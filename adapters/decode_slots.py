"""How many uploaded images are decoded at once: a bound on the process's memory.

A decode holds the decoded pixels and the copies made while converting and encoding
them (an 8192 x 8192 picture: several hundred MB); six at once peaked at 3 GB. The
bound is a process-wide one, ``DECODE_SLOTS``, because what it protects is: the
process's memory, whoever decodes (an upload, an inline image in a job, any store).
An object rather than a bare semaphore so a test can give its own and watch it.

The wait is in the calling thread. The server's requests decode on an executor of
MAX_CONCURRENT_DECODES threads of their own (bootstrap's ``image_decoding``), so a decode
waiting its turn holds none of the event loop's shared threads; other callers (the CLI,
tests) wait here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

MAX_CONCURRENT_DECODES = 2


class DecodeSlots:
    def __init__(self, count: int = MAX_CONCURRENT_DECODES) -> None:
        self._semaphore = threading.BoundedSemaphore(count)
        self._lock = threading.Lock()
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Decodes waiting for a slot now (what a metric or a test watches)."""
        with self._lock:
            return self._waiting

    @contextmanager
    def held(self) -> Iterator[None]:
        """One slot for the body of the ``with``; blocks the thread until one is free."""
        with self._lock:
            self._waiting += 1
        try:
            self._semaphore.acquire()
        finally:
            with self._lock:
                self._waiting -= 1
        try:
            yield
        finally:
            self._semaphore.release()


DECODE_SLOTS = DecodeSlots()
