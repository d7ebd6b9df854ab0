"""One process at a time in GENERATED_DIR: the lock, its refusal line, and who takes it.

The POSIX lock runs for real (flock locks are per open file description, so two opens in
one process conflict as two processes do); Windows' `msvcrt.locking` is simulated by a
stand-in that keeps byte locks as Windows does: per file and offset, refused to any other
open file.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import uvicorn
from starlette.testclient import TestClient

from adapters.folder_lock import (
    LOCK_FILE_NAME,
    FolderInUse,
    FolderLock,
    PosixLock,
    WindowsLock,
)
from entrypoints import cli
from entrypoints.app import create_app
from entrypoints.remedies import data_folder_in_use
from tests.conftest import make_settings

STARTED = "2026-06-01T10:00:00+02:00"


def holder(folder: Path, role: str = "a local-sd server", **kwargs: object) -> FolderLock:
    return FolderLock(folder, role, clock=lambda: STARTED, **kwargs)  # type: ignore[arg-type]


def test_a_second_lock_on_the_folder_is_refused_with_one_line_naming_the_holder(
    tmp_path: Path,
) -> None:
    first = holder(tmp_path / "generated")
    first.acquire()
    written = first.path.read_bytes()

    with pytest.raises(FolderInUse) as refused:
        holder(tmp_path / "generated", role="the local-sd retention command").acquire()

    assert refused.value.folder == tmp_path / "generated"
    assert refused.value.holder == f"a local-sd server (pid {os.getpid()}, started {STARTED})"
    line = data_folder_in_use(refused.value.folder, refused.value.holder)
    assert "\n" not in line
    assert str(tmp_path / "generated") in line and "GENERATED_DIR" in line
    assert first.path.read_bytes() == written  # the refused one wrote nothing
    first.release()


def test_a_released_lock_is_taken_again_and_names_no_one_who_left(tmp_path: Path) -> None:
    first = holder(tmp_path)
    first.acquire()
    first.acquire()  # the CLI takes it, then the lifespan: the same holder, no conflict
    first.release()
    assert not first.path.exists()  # a clean stop leaves the folder as it found it

    second = holder(tmp_path)
    second.acquire()
    assert second.held
    assert json.loads(second.path.read_text())["pid"] == os.getpid()
    second.release()
    second.release()  # releasing twice is harmless
    assert not second.held


def test_an_unreadable_holder_line_still_refuses(tmp_path: Path) -> None:
    first = holder(tmp_path)
    first.acquire()
    first.path.write_bytes(b"\xff not json")
    with pytest.raises(FolderInUse, match="in use by another process"):
        holder(tmp_path).acquire()
    first.release()


HOLD_IN_CHILD = """
import sys
from pathlib import Path
from adapters.folder_lock import FolderLock
FolderLock(Path(sys.argv[1]), "a local-sd server").acquire()
print("locked", flush=True)
sys.stdin.read()
"""


def test_the_os_releases_the_lock_of_a_killed_process(tmp_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", HOLD_IN_CHILD, str(tmp_path)],
        cwd=Path(__file__).resolve().parents[2],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "locked"
            with pytest.raises(FolderInUse, match=f"pid {child.pid},"):
                holder(tmp_path).acquire()
        finally:
            child.kill()  # SIGKILL on POSIX: no clean-up of its own runs
            child.wait()

    after = holder(tmp_path)
    after.acquire()  # no stale lock, though the killed holder's line was left behind
    assert after.held
    after.release()


class ReleasedMeanwhile:
    """flock, except that the holder leaves (removing the file) between our open and lock."""

    unlink_while_locked = True

    def __init__(self, leaving: FolderLock) -> None:
        self.leaving: FolderLock | None = leaving
        self.real = PosixLock()

    def try_lock(self, fd: int) -> bool:
        if self.leaving is not None:
            self.leaving.release()
            self.leaving = None
        return self.real.try_lock(fd)

    def unlock(self, fd: int) -> None:
        self.real.unlock(fd)


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX's")
def test_a_lock_on_a_file_removed_meanwhile_is_taken_again_on_the_new_file(
    tmp_path: Path,
) -> None:
    leaving = holder(tmp_path)
    leaving.acquire()
    newcomer = holder(tmp_path, primitive=ReleasedMeanwhile(leaving))

    newcomer.acquire()  # its first open was of the file the holder removed

    assert json.loads(newcomer.path.read_text())["pid"] == os.getpid()
    with pytest.raises(FolderInUse):  # a third one meets the lock under the name
        holder(tmp_path).acquire()
    newcomer.release()


class SimulatedMsvcrt:
    """`msvcrt.locking` as Windows keeps it: a byte at the file position, per open file."""

    LK_NBLCK = 2
    LK_UNLCK = 0

    def __init__(self, failure: int = errno.EACCES) -> None:
        self.locks: dict[tuple[int, int, int], int] = {}  # (device, inode, offset) -> fd
        self.failure = failure

    def locking(self, fd: int, mode: int, nbytes: int, /) -> None:
        assert nbytes == 1
        stat = os.fstat(fd)
        key = (stat.st_dev, stat.st_ino, os.lseek(fd, 0, os.SEEK_CUR))
        owner = self.locks.get(key)
        if mode == self.LK_NBLCK:
            if owner is not None and owner != fd:
                raise OSError(self.failure, os.strerror(self.failure))
            self.locks[key] = fd
        elif mode == self.LK_UNLCK:
            if owner != fd:
                raise OSError(errno.EACCES, "Permission denied")
            del self.locks[key]


@pytest.mark.parametrize("failure", [errno.EACCES, getattr(errno, "EDEADLOCK", errno.EDEADLK)])
def test_windows_byte_lock_refuses_a_second_holder(tmp_path: Path, failure: int) -> None:
    msvcrt = SimulatedMsvcrt(failure)
    first = holder(tmp_path, primitive=WindowsLock(msvcrt))
    first.acquire()

    with pytest.raises(FolderInUse, match=f"pid {os.getpid()}, started"):
        holder(tmp_path, primitive=WindowsLock(msvcrt)).acquire()

    # Windows locks are mandatory: the locked byte lies past the holder's line, which a
    # refused process must still read.
    [(_, _, offset)] = msvcrt.locks
    assert offset >= first.path.stat().st_size > 0
    first.release()
    assert msvcrt.locks == {}
    second = holder(tmp_path, primitive=WindowsLock(msvcrt))
    second.acquire()
    second.release()


def test_windows_lock_passes_other_failures_on(tmp_path: Path) -> None:
    msvcrt = SimulatedMsvcrt(errno.EBADF)
    first = holder(tmp_path, primitive=WindowsLock(msvcrt))
    first.acquire()
    with pytest.raises(OSError, match="Bad file descriptor") as failed:
        holder(tmp_path, primitive=WindowsLock(msvcrt)).acquire()
    assert failed.type is OSError and failed.value.errno == errno.EBADF
    first.release()


def test_a_second_app_on_the_folder_does_not_start_and_touches_no_record(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, use_mocks=True)
    generated = settings.generated_dir
    generated.mkdir(parents=True)
    running = {"job_id": "a" * 32, "status": "running", "created_at": STARTED}
    (generated / f"{'a' * 32}.json").write_text(json.dumps(running))
    (generated / ".partial-x").write_bytes(b"the first server is writing this")
    first = holder(generated)
    first.acquire()
    before = {path.name: path.read_bytes() for path in generated.iterdir()}

    with pytest.raises(FolderInUse), TestClient(create_app(settings)):
        pass

    assert {path.name: path.read_bytes() for path in generated.iterdir()} == before
    first.release()
    # Once free, the app takes it for its life.
    with TestClient(create_app(settings)), pytest.raises(FolderInUse, match="a local-sd server"):
        holder(generated).acquire()
    after = holder(generated)
    after.acquire()  # released when the app stopped
    after.release()


class RecordingRun:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, *args: object, **kwargs: object) -> None:
        self.calls += 1


def test_serve_refuses_with_one_line_before_uvicorn_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = RecordingRun()
    monkeypatch.setattr(uvicorn, "run", run)
    settings = make_settings(tmp_path, use_mocks=True)
    first = holder(settings.generated_dir)
    first.acquire()

    assert cli.serve(settings) == 2

    assert run.calls == 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"pid {os.getpid()}" in lines[0], lines
    first.release()


def test_retention_refuses_beside_a_server_and_runs_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path, retention_max_images=1)
    server = holder(settings.generated_dir)
    server.acquire()

    assert cli.retention(settings) == 2
    refusal = capsys.readouterr().err.strip()
    assert "\n" not in refusal
    assert "a local-sd server (pid" in refusal and "after each job" in refusal

    server.release()
    assert cli.retention(settings) == 0
    assert "Removed 0 jobs" in capsys.readouterr().out
    assert not (settings.generated_dir / LOCK_FILE_NAME).exists()  # released


def test_serve_says_in_one_line_when_the_folder_cannot_be_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(uvicorn, "run", RecordingRun())
    (tmp_path / "a-file").write_text("not a folder")
    settings = make_settings(tmp_path, use_mocks=True, generated_dir=tmp_path / "a-file")

    assert cli.serve(settings) == 2

    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Cannot lock {tmp_path / 'a-file'}"), lines
