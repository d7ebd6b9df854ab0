// A finished job's settings in words: the rows of the result panel's list under the image.

"use strict";

import { formatDuration } from "./dom.js";
import { jobMode, modeLabel, paramsDenoisingSteps } from "./edit_rules.js";
import { coveredCount } from "./safety.js";

/** [term, value] pairs for `job`; `schedulerLabel(name)` words its scheduler. */
export function paramRows(job, schedulerLabel) {
  const params = job.params ?? {};
  const rows = [["Prompt", params.prompt]];
  if (params.negative_prompt) rows.push(["Negative", params.negative_prompt]);
  const mode = jobMode(job);
  const ran = paramsDenoisingSteps(params);
  if (mode !== "text_to_image") {
    rows.push(["Mode", modeLabel(mode)], ["Strength", String(params.strength)]);
  }
  rows.push(
    ["Size", `${params.width} × ${params.height}`],
    ["Steps", ran === params.num_inference_steps ? String(ran)
      : `${ran} of ${params.num_inference_steps}`],
    ["Guidance", String(params.guidance_scale)],
    ["Scheduler", schedulerLabel(params.scheduler)],
    ["Device", job.mock && job.device !== "mock" ? `${job.device} (mock)` : String(job.device)],
  );
  const count = (job.images ?? []).length;
  if (count > 1) rows.push(["Images", String(count)]);
  const covered = coveredCount(job);
  if (covered > 0) {
    rows.push(["Safety filter", count > 1 ? `covered ${covered} of ${count} images`
                                          : "covered the image"]);
  }
  if (job.duration_ms !== null && job.duration_ms !== undefined) {
    rows.push(["Time", formatDuration(job.duration_ms)]);
  }
  return rows;
}
