"""Records on disk that cannot be read are skipped, one log line each, never breaking a list."""

from __future__ import annotations

import json
from pathlib import Path

from structlog.testing import capture_logs

from adapters.file_history_store import FileHistoryStore
from adapters.file_image_store import FileImageStore
from application.history import History
from application.job_records import job_record
from application.ports import RenderedImage
from domain.generation_request import GenerationRequest
from domain.job import Job
from domain.retention import RetentionPolicy
from tests.support.fakes import FakeClock


def test_bad_json_lone_surrogates_and_wrong_types_are_skipped_with_a_line_each(
    tmp_path: Path,
) -> None:
    store = FileHistoryStore(tmp_path)
    good = Job(id="good", request=GenerationRequest(prompt="p"), seed=1, created_at=FakeClock()())
    store.write("good", job_record(good, {}, {}))
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "surrogate.json").write_text('{"prompt": "\\ud800"}', encoding="ascii")
    (tmp_path / "latin.json").write_bytes(b'{"prompt": "\xff"}')
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    wrong = {**job_record(good, {}, {}), "job_id": "wrong", "progress": [1], "images": "x"}
    (tmp_path / "wrong.json").write_text(json.dumps(wrong), encoding="utf-8")

    with capture_logs() as logs:
        jobs = History(store, FileImageStore(tmp_path), RetentionPolicy()).recover(FakeClock()())
    assert [job.id for job in jobs] == ["good"]
    skipped = sorted(
        str(line.get("file") or line.get("job_id"))
        for line in logs
        if line["event"] == "history_record_unreadable"
    )
    assert skipped == ["broken.json", "latin.json", "list.json", "surrogate.json", "wrong"]


def test_a_lone_surrogate_is_written_as_an_escape_in_records_and_png_text(tmp_path: Path) -> None:
    store = FileHistoryStore(tmp_path)
    request = GenerationRequest(prompt="a \ud800 fox")
    job = Job(id="odd", request=request, seed=1, created_at=FakeClock()())
    store.write("odd", job_record(job, {}, {}))
    assert (tmp_path / "odd.json").read_bytes().isascii()
    images = FileImageStore(tmp_path)
    images.save("odd.png", RenderedImage(8, 8, b"\0" * 192, 1), {"parameters": "a \ud800 fox"})
    assert images.path_of("odd.png") is not None
