"""Running an edit: the engine gets the prepared inputs, runs the steps strength leaves,
finishes the image; strength 0 runs nothing; a vanished input fails the job plainly."""

from __future__ import annotations

import json

from application.job_records import job_from_record, job_record
from domain.job import Job, JobErrorType, JobStatus
from domain.retention import RetentionPolicy
from tests.support.edit_fakes import edit_request, make_edit_service, stored_input
from tests.support.fakes import FakeBackend, FakeClock, FakeHistoryStore, FakeUploadStore
from tests.support.running_service import generate, make_service, run, small


def test_image_to_image_runs_the_steps_strength_leaves_on_the_prepared_input() -> None:
    backend, uploads = FakeBackend(), FakeUploadStore()
    service, images, pixels = make_edit_service(backend, uploads)
    init = stored_input(uploads)
    request = edit_request(init_image=init, num_inference_steps=10, strength=0.5, seed=3)

    async def scenario() -> None:
        job = service.queue.accept(request)
        assert job.total_steps == 5
        await service.queue.wait(job)
        assert job.status is JobStatus.SUCCEEDED
        assert (job.step, job.total_steps) == (5, 5)

    run(service, scenario)
    assert backend.edits == [pixels.prepared[0]]
    assert pixels.prepared[0].mask is None and pixels.finished == 1
    image, chunks = images.saved["job0.png"]
    assert image.rgb[0] == 255, "finish ran on the engine's image"
    assert chunks["parameters"].endswith(", Denoising strength: 0.5")
    provenance = json.loads(chunks["provenance"])
    assert provenance["mode"] == "image_to_image"
    assert provenance["inputs"]["init_image"]["sha256"] == init.sha256


def test_inpainting_gets_the_mask_and_a_batch_prepares_its_inputs_once() -> None:
    backend, uploads = FakeBackend(), FakeUploadStore()
    service, images, pixels = make_edit_service(backend, uploads)
    request = edit_request(
        init_image=stored_input(uploads),
        mask_image=stored_input(uploads),
        num_inference_steps=4,
        strength=1.0,
        num_images=3,
    )

    async def scenario() -> None:
        job = await generate(service, request)
        assert (job.step, job.total_steps) == (12, 12)

    run(service, scenario)
    assert len(pixels.prepared) == 1
    assert backend.edits == [pixels.prepared[0]] * 3
    assert pixels.prepared[0].mask is not None and pixels.finished == 3
    assert images.saved["job0-2.png"][1]["parameters"].endswith(
        ", Denoising strength: 1.0, Mask blur: 4"
    )


def test_strength_zero_calls_no_engine_and_stores_the_input_for_every_image() -> None:
    backend, uploads = FakeBackend(), FakeUploadStore()
    service, images, _ = make_edit_service(backend, uploads)
    request = edit_request(init_image=stored_input(uploads), strength=0.0, num_images=2)

    async def scenario() -> None:
        job = await generate(service, request)
        assert job.total_steps == 0 and [ref.seed for ref in job.images] == [1234, 1235]

    run(service, scenario)
    assert backend.calls == []
    assert [images.saved[name][0].rgb for name in ("job0-0.png", "job0-1.png")] == [
        bytes([7]) * (64 * 64 * 3)
    ] * 2


def test_an_input_removed_after_acceptance_fails_the_job_as_input_missing() -> None:
    backend, uploads = FakeBackend(), FakeUploadStore()
    service, images, _ = make_edit_service(backend, uploads)
    init = stored_input(uploads)
    uploads.delete(init.upload_id)
    failed: list[Job] = []

    async def scenario() -> None:
        job = service.queue.accept(edit_request(init_image=init))
        await service.queue.wait(job)
        failed.append(job)

    run(service, scenario)
    (job,) = failed
    assert job.status is JobStatus.FAILED and job.error is not None
    assert job.error.type is JobErrorType.INPUT_MISSING
    assert init.upload_id in job.error.message
    assert backend.calls == [] and images.saved == {}


def test_text_to_image_prepares_nothing_and_passes_no_edit() -> None:
    backend = FakeBackend()
    service, _, pixels = make_edit_service(backend)

    async def scenario() -> None:
        await generate(service, edit_request(strength=0.1, num_inference_steps=6))

    run(service, scenario)
    assert backend.edits == [None] and pixels.prepared == []
    assert backend.calls[0][0].denoising_steps == 6


def test_a_service_without_edit_pixels_still_runs_text_jobs() -> None:
    backend = FakeBackend()
    service, images = make_service(backend)

    async def scenario() -> None:
        await generate(service, small())

    run(service, scenario)
    assert list(images.saved) == ["job0.png"]


def test_a_queued_edit_job_survives_the_records_round_trip() -> None:
    uploads = FakeUploadStore()
    request = edit_request(
        init_image=stored_input(uploads, 96, 64),
        mask_image=stored_input(uploads, 96, 64),
        strength=0.4,
        mask_blur=9,
        invert_mask=True,
        resize_mode="fit",
        width=96,
    )
    job = Job(id="j1", request=request, seed=5, created_at=FakeClock().now, owner="alice")
    record = json.loads(json.dumps(job_record(job, {}, {})))
    restored = job_from_record(record)
    assert restored is not None
    assert restored.request == request
    assert restored.request.mode is request.mode
    assert (restored.status, restored.total_steps) == (JobStatus.QUEUED, 8)


def test_uploads_fall_under_the_images_retention_after_each_job() -> None:
    backend, uploads, clock = FakeBackend(), FakeUploadStore(), FakeClock()
    first, second, third = (stored_input(uploads) for _ in range(3))
    clock.advance(3600)  # past the grace an upload has before its job is accepted
    service, _, _ = make_edit_service(
        backend, uploads, retention=RetentionPolicy(max_images=1), clock=clock
    )

    async def scenario() -> None:
        await generate(service, edit_request(init_image=third))

    run(service, scenario)
    assert sorted(uploads.deleted) == sorted([first.upload_id, second.upload_id])
    assert list(uploads.uploads) == [third.upload_id]


def test_uploads_fall_under_the_retention_at_start_up_too() -> None:
    uploads, clock = FakeUploadStore(), FakeClock()
    old = stored_input(uploads)
    clock.advance(3 * 86400)
    service, _, _ = make_edit_service(
        FakeBackend(), uploads, retention=RetentionPolicy(max_age_days=1), clock=clock
    )
    service.recover_history()
    assert uploads.deleted == [old.upload_id]


def test_an_upload_a_waiting_job_reads_is_kept_at_start_up() -> None:
    uploads, clock, records = FakeUploadStore(), FakeClock(), FakeHistoryStore()
    waiting = stored_input(uploads)
    job = Job(id="j1", request=edit_request(init_image=waiting), seed=5, created_at=clock.now)
    records.write("j1", job_record(job, {}, {}))
    clock.advance(3 * 86400)
    service, _, _ = make_edit_service(
        FakeBackend(),
        uploads,
        retention=RetentionPolicy(max_age_days=1),
        clock=clock,
        history_store=records,
    )
    service.recover_history()
    assert [queued.id for queued in service.history.waiting()] == ["j1"]
    assert uploads.deleted == [] and uploads.get(waiting.upload_id) is not None
