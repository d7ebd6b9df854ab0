"""AUTOMATIC1111's skips are remembered until asked, and only the newest ones."""

from __future__ import annotations

from entrypoints.skipped_jobs import SkippedJobs


def test_a_skip_is_told_once_and_unknown_jobs_were_not_skipped() -> None:
    skips = SkippedJobs()
    skips.skip("a")
    assert skips.is_skipped("a")
    assert skips.take_skip("a")
    assert not skips.take_skip("a")
    assert not skips.is_skipped("a")
    assert not skips.take_skip("never")


def test_skips_nobody_asks_about_do_not_pile_up() -> None:
    skips = SkippedJobs(max_remembered=3)
    for job_id in "abcde":
        skips.skip(job_id)
    assert [job_id for job_id in "abcde" if skips.is_skipped(job_id)] == ["c", "d", "e"]
