"""Windows' refusal to replace or remove a file another process holds open, simulated.

On Windows `os.replace` and `os.unlink` raise PermissionError (winerror 32) while a
browser downloads the PNG, our FileResponse streams it or a scanner reads it. Here a
`Holder` makes the same calls fail for the files it holds, once or until released.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from adapters import held_files
from adapters.file_history_store import FileHistoryStore
from adapters.file_image_store import FileImageStore
from application.history import History
from application.ports import ModelStatus, RenderedImage
from domain.generation_request import GenerationRequest
from domain.job import ImageRef, Job
from domain.retention import RetentionPolicy

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
MODEL = ModelStatus("OpenVINO/m", Path("/m"), cached=True, revision="abc")
PIXEL = RenderedImage(1, 1, b"\x00\x00\x00", seed=1)
IN_USE = "The process cannot access the file because it is being used by another process"


class Holder:
    """Holds files open as another process would: replacing or removing them fails."""

    def __init__(self) -> None:
        self.held: dict[str, int | None] = {}  # name -> failures left (None: until released)
        self.refusals = 0

    def hold(self, name: str, times: int | None = None) -> None:
        self.held[name] = times

    def release(self, name: str) -> None:
        self.held.pop(name, None)

    def refuse(self, path: object) -> None:
        name = Path(os.fsdecode(path)).name  # type: ignore[arg-type]
        if name not in self.held:
            return
        left = self.held[name]
        if left is not None:
            if left <= 1:
                del self.held[name]
            else:
                self.held[name] = left - 1
        self.refusals += 1
        raise PermissionError(13, IN_USE, str(path))


@pytest.fixture
def holder(monkeypatch: pytest.MonkeyPatch) -> Holder:
    holder = Holder()
    real_replace, real_unlink = os.replace, os.unlink

    def replace(source: object, target: object, **kwargs: object) -> None:
        holder.refuse(target)
        real_replace(source, target, **kwargs)  # type: ignore[arg-type]

    def unlink(path: object, **kwargs: object) -> None:
        holder.refuse(path)
        real_unlink(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "unlink", unlink)
    # The retries still happen, without the waits between them.
    monkeypatch.setattr(held_files, "RETRY_DELAYS", (0.0, 0.0, 0.0))
    return holder


def names_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def finished_job(job_id: str, days_ago: float = 1) -> Job:
    created = NOW - timedelta(days=days_ago)
    job = Job(id=job_id, request=GenerationRequest(prompt="p", seed=1), seed=1, created_at=created)
    job.start(created, "mock", "mock", mock=True)
    job.succeed(created + timedelta(seconds=2), [ImageRef(f"{job_id}.png", 1, 1, 1)], "mock")
    return job


def test_a_replace_refused_for_a_moment_is_retried_and_succeeds(
    tmp_path: Path, holder: Holder
) -> None:
    store = FileImageStore(tmp_path)
    holder.hold("job1.png", times=2)

    store.save("job1.png", PIXEL, {})

    assert names_in(tmp_path) == ["job1.png"]
    assert holder.refusals == 2


def test_a_replace_refused_for_good_fails_cleanly_and_keeps_the_old_file(
    tmp_path: Path, holder: Holder
) -> None:
    records = FileHistoryStore(tmp_path)
    records.write("job1", {"status": "running"})
    holder.hold("job1.json")

    with pytest.raises(PermissionError):
        records.write("job1", {"status": "succeeded"})

    assert names_in(tmp_path) == ["job1.json"]  # no temporary file left
    assert records.read_all() == [{"status": "running"}]


def test_a_removal_refused_for_a_moment_is_retried_and_succeeds(
    tmp_path: Path, holder: Holder
) -> None:
    store = FileImageStore(tmp_path)
    store.save("job1.png", PIXEL, {})
    holder.hold("job1.png", times=1)

    assert store.delete("job1.png") is True

    assert names_in(tmp_path) == []


def test_an_image_held_open_is_gone_at_once_and_removed_at_the_next_pass(
    tmp_path: Path, holder: Holder
) -> None:
    store = FileImageStore(tmp_path)
    for name in ("job1.png", "job2.png"):
        store.save(name, PIXEL, {})
    holder.hold("job1.png")  # e.g. a browser still downloading it

    assert store.delete("job1.png") is True
    assert store.path_of("job1.png") is None  # not served any more
    assert store.delete("job1.png") is False  # and gone for every caller
    assert (tmp_path / "job1.png").exists()

    holder.release("job1.png")
    store.delete("job2.png")  # the next removal in the folder finishes the earlier one
    assert names_in(tmp_path) == []


def test_a_new_write_under_a_name_awaiting_removal_stays(tmp_path: Path, holder: Holder) -> None:
    store = FileImageStore(tmp_path)
    store.save("job1.png", PIXEL, {})
    holder.hold("job1.png")
    store.delete("job1.png")
    holder.release("job1.png")

    store.save("job1.png", PIXEL, {})
    store.delete("other.png")  # a pass over the pending removals

    assert store.path_of("job1.png") == tmp_path / "job1.png"


def test_an_image_whose_stat_is_refused_is_not_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Windows: a file removed while still open stays "delete pending"; its stat is refused.
    store = FileImageStore(tmp_path)
    store.save("job1.png", PIXEL, {})

    def refused(self: Path, **kwargs: object) -> os.stat_result:
        raise PermissionError(13, "Access is denied", str(self))

    monkeypatch.setattr(Path, "lstat", refused)
    assert store.path_of("job1.png") is None


def test_a_record_read_refused_for_a_moment_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(held_files, "RETRY_DELAYS", (0.0,))
    records = FileHistoryStore(tmp_path)
    records.write("job1", {"status": "succeeded"})
    real_read_text = Path.read_text
    refusals: list[str] = []

    def read_text(self: Path, *args: object, **kwargs: object) -> str:
        if not refusals:
            refusals.append(self.name)
            raise PermissionError(13, IN_USE, str(self))
        return real_read_text(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", read_text)
    assert records.read_all() == [{"status": "succeeded"}]
    assert refusals == ["job1.json"]


def test_deleting_a_held_job_answers_and_it_does_not_come_back_at_the_next_start(
    tmp_path: Path, holder: Holder
) -> None:
    images, records = FileImageStore(tmp_path), FileHistoryStore(tmp_path)
    history = History(records, images, RetentionPolicy())
    for job_id in ("kept", "gone"):
        images.save(f"{job_id}.png", PIXEL, {})
        history.record(finished_job(job_id), MODEL, {})
    holder.hold("gone.png")
    holder.hold("gone.json")  # e.g. an editor has the record open

    history.delete("gone")

    assert [job.id for job in history.jobs()] == ["kept"]
    restarted = History(FileHistoryStore(tmp_path), FileImageStore(tmp_path), RetentionPolicy())
    assert [job.id for job in restarted.recover(NOW)] == ["kept"]
    holder.release("gone.png")
    holder.release("gone.json")
    again = History(FileHistoryStore(tmp_path), FileImageStore(tmp_path), RetentionPolicy())
    assert [job.id for job in again.recover(NOW)] == ["kept"]
    assert names_in(tmp_path) == ["kept.json", "kept.png"]


def test_retention_of_held_images_neither_fails_nor_lists_them(
    tmp_path: Path, holder: Holder
) -> None:
    images, records = FileImageStore(tmp_path), FileHistoryStore(tmp_path)
    history = History(records, images, RetentionPolicy(max_images=1))
    for index in range(3):
        images.save(f"j{index}.png", PIXEL, {})
        history.record(finished_job(f"j{index}", days_ago=3 - index), MODEL, {})
    holder.hold("j0.png")

    removed = history.apply_retention(NOW)

    assert [job.id for job in removed] == ["j0", "j1"]
    assert [job.id for job in history.with_images(10)] == ["j2"]
    assert images.path_of("j0.png") is None
    holder.release("j0.png")
    assert FileHistoryStore(tmp_path).read_all()[0]["job_id"] == "j2"  # the start's pass
    assert names_in(tmp_path) == ["j2.json", "j2.png"]


def test_a_start_goes_on_when_an_interrupted_jobs_record_is_held(
    tmp_path: Path, holder: Holder
) -> None:
    records = FileHistoryStore(tmp_path)
    cut = Job(id="cut", request=GenerationRequest(prompt="p"), seed=3, created_at=NOW)
    cut.start(NOW, "openvino", "CPU", mock=False)
    History(records, FileImageStore(tmp_path), RetentionPolicy()).record(cut, MODEL, {})
    holder.hold("cut.json")

    jobs = History(records, FileImageStore(tmp_path), RetentionPolicy()).recover(NOW)

    assert [(job.id, job.status.value) for job in jobs] == [("cut", "failed")]
    assert records.read_all()[0]["status"] == "running"  # the next start tries again
    holder.release("cut.json")
    History(records, FileImageStore(tmp_path), RetentionPolicy()).recover(NOW)
    assert records.read_all()[0]["status"] == "failed"


def test_deleting_an_image_being_downloaded_answers_200_and_then_404(
    mock_client: TestClient, holder: Holder
) -> None:
    made = mock_client.post("/image", json={"prompt": "a fox", "num_inference_steps": 2}).json()
    name = made["image_url"].rsplit("/", 1)[1]
    holder.hold(name)

    deleted = mock_client.delete(f"/images/{made['job_id']}")

    assert deleted.status_code == 200, deleted.text
    assert mock_client.get(made["image_url"]).status_code == 404
    assert mock_client.get("/images").json()["images"] == []


def test_partial_files_of_a_killed_process_go_at_the_next_start(tmp_path: Path) -> None:
    records = FileHistoryStore(tmp_path)
    records.write("job1", {"status": "running"})
    (tmp_path / ".partial-abcd1234.png").write_bytes(b"half a png")

    assert records.remove_partial_files() == 1
    assert names_in(tmp_path) == ["job1.json"]
