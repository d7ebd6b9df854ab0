"""A real `redis-server` process on a free loopback port, for the tests of the shared queue.

The multi-machine queue (SAQ) talks to Redis, and a fake would answer what we think Redis
answers: these tests run the real server (Debian's `redis-server`) instead. It listens on
127.0.0.1 only, keeps its log in its folder (the test's output stays the test's), and writes
nothing to disk unless a test asks for persistence, which restart tests do. Leaving the
context manager stops it and removes every file it wrote, so a test's folder looks as the
test left it.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.support.live_server import free_port
from tests.support.waiting import wait_until

# Names the server writes under in its folder: fixed by the command line, so they can be
# removed afterwards without touching anything else the folder holds.
LOG_NAME = "redis-server.log"
DB_NAME = "dump.rdb"
AOF_DIR_NAME = "appendonlydir"
# Redis's temporary files while it saves or rewrites (temp-<pid>.rdb, temp-rewriteaof-*.aof).
TEMPORARY_PATTERNS = ("temp-*.rdb", "temp-*.aof")


class RedisServer:
    """One `redis-server` on 127.0.0.1; `start` it again after `stop` for restart tests.

    It keeps its port and folder across restarts, so a client's URL stays valid and a
    persistent server (``persist``) finds its data again.
    """

    def __init__(
        self,
        folder: Path,
        *,
        password: str | None = None,
        persist: bool = False,
        executable: str = "redis-server",
    ) -> None:
        self.folder = folder
        self.password = password
        self.persist = persist
        self.executable = executable
        self.port = free_port()
        self.log_path = folder / LOG_NAME
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The URL SAQ's and redis-py's ``from_url`` take: database 0, password if any."""
        credentials = f":{self.password}@" if self.password is not None else ""
        return f"redis://{credentials}127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always"]
            if self.persist
            else ["--save", "", "--appendonly", "no"]
        )
        password = ["--requirepass", self.password] if self.password is not None else []
        return [
            self.executable,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--protected-mode",
            "yes",
            "--dir",
            str(self.folder),
            "--dbfilename",
            DB_NAME,
            "--appenddirname",
            AOF_DIR_NAME,
            # Logs go to standard output, which is the log file: what it says before it
            # has read its options (a bad option, a port in use) lands there too.
            "--logfile",
            "",
            "--daemonize",
            "no",
            *persistence,
            *password,
        ]

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and return once it answers PING (with the password, if any)
        and says it is the process just started."""
        if self.running():
            raise RuntimeError(f"redis-server is already running on port {self.port}")
        self.folder.mkdir(parents=True, exist_ok=True)
        # Appended to: a restart's log follows the first run's, for a failing test to show.
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.folder,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until(
                self._answers_ping,
                f"redis-server on 127.0.0.1:{self.port} to answer PING",
                timeout=timeout,
                interval=0.02,
                context=self.log_tail,
            )
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (Redis's orderly shutdown: it flushes the append-only file), then a kill
        if it has not left within ``timeout``. Nothing happens if it is not running."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def client(self, *, with_password: bool = True) -> redis.Redis:
        """A synchronous client, with the password unless told otherwise; close it
        (``with``) when done.

        It does not retry: redis-py's default (3 retries, backing off from 1 s) turns a
        refused connection, and a refused password too (AuthenticationError is a
        ConnectionError), into about 6 s of waiting before the error.
        """
        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            password=self.password if with_password else None,
            socket_connect_timeout=2,
            socket_timeout=2,
            retry=Retry(NoBackoff(), 0),
        )

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return f"(no log at {self.log_path})"
        return "redis-server's log ends:\n" + "\n".join(text.splitlines()[-lines:])

    def written_files(self) -> list[Path]:
        """What the server wrote (or may have written) in its folder and is still there."""
        names = [LOG_NAME, DB_NAME, AOF_DIR_NAME]
        found = [self.folder / name for name in names if (self.folder / name).exists()]
        for pattern in TEMPORARY_PATTERNS:
            found.extend(self.folder.glob(pattern))
        return found

    def remove_files(self) -> None:
        """Remove what the server wrote; only when it is stopped, or it would write again."""
        if self.running():
            raise RuntimeError("stop redis-server before removing its files")
        for path in self.written_files():
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()

    def _answers_ping(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(
                f"redis-server exited with {self.process.returncode} before answering PING\n"
                f"{self.log_tail()}"
            )
        try:
            with self.client() as client:
                # Our process, not another server that has the port (a restart's race).
                info: dict[str, Any] = client.info("server")
                return bool(client.ping()) and info["process_id"] == self.pid()
        # Refused while it starts; BusyLoadingError (a ConnectionError) while it reads its
        # append-only file after a restart.
        except (redis.ConnectionError, redis.TimeoutError):
            return False


@contextmanager
def running_redis(
    folder: Path,
    *,
    password: str | None = None,
    persist: bool = False,
    executable: str = "redis-server",
) -> Iterator[RedisServer]:
    """A started `RedisServer` in ``folder``; stopped and its files removed on exit."""
    server = RedisServer(folder, password=password, persist=persist, executable=executable)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server.remove_files()
