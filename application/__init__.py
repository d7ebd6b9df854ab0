"""The application layer: the job pipeline and the ports it needs, in plain Python.

Modules in the order a job meets them (a test checks this list against the files):
  ports             what the application needs from adapters: backend, stores, progress
  input_resolution  a request's input images (upload, gallery, inline) as stored uploads
  inline_images     an image sent in the request itself: base64 or a data: URL, bounded
  readiness         is there a backend now, and if not, why (a Problem); its defaults
  job_queue         accepting and queueing: checks, seed, the waiting line, jobs by id
  acceptance_records  a job runs and is answered only once its record is on disk
  queue_pace        the pace of recent jobs: Retry-After for a full line
  recent_jobs       jobs by id: every unfinished one, the newest finished ones
  free_space        free disk space where the service writes: cached readings, the floor
  job_events        publishing events: per-job streams, the snapshot a late subscriber gets
  worker_loop       the loop: takes queued jobs in order, survives each, stops cleanly
  cancellation      what "cancel" means in each state: queued, running, final
  job_run           one job, event-loop side: records, the deadline, the outcome
  job_failures      how a job that made no images failed: timeout, disk, input, interrupted
  engine_thread     one job, engine-thread side: render every image, then store them
  safety_ports      the safety filter's ports: a checker's verdicts, a cover for flagged images
  safety_screening  the filter's policy: judge, cover what is flagged, blur previews; loading
  preview_board     the running job's latest preview, for those who poll instead of listen
  image_metadata    provenance inside each PNG: AUTOMATIC1111's text and JSON
  history           recording history: records as jobs start and end, recovery, retention
  upload_pruning    retention of uploaded input images, at start-up and after each job
  record_writer     the one thread that writes records in order; retries failed ones
  job_records       a job as a JSON record and back
  job_outcome       what a caller who waited for a job is told when it did not succeed
  generation_service  the object graph of the above, and what spans its parts
  model_lifecycle   from "no model" to "ready": check, download, load
  health            what /health reports, as plain data
"""
