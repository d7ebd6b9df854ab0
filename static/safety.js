// The safety filter as the page shows it: which images it covered, the neutral words that
// say so, and what /health's "safety" block means for the header and the previews.
// An image the checker flagged was covered before it was stored (blurred or replaced by a
// placeholder): there is no other copy, so nothing here may suggest one.

"use strict";

import { setHidden, setText } from "./dom.js";

/** What a covered image says, wherever it shows: neutral, and no promise of an original. */
export const COVERED_NOTICE = "Covered by the safety filter. The original image was not kept.";

/** True only for an image the checker flagged; false and null (not judged) are plain images. */
export function isCovered(image) {
  return image?.nsfw === true;
}

/** How many of a job's images the filter covered. */
export function coveredCount(job) {
  return (job.images ?? []).filter(isCovered).length;
}

const ACTION_WORDS = {
  blur: "Images it flags are blurred, with a notice.",
  block: "Images it flags are replaced by a plain placeholder.",
};

/**
 * What the header's chip says about /health's `safety` block, or null when the service
 * does not report one: {text, tone, detail, previews}, where previews is "shown" (no
 * filter), "blurred" or "off".
 */
export function filterState(safety) {
  if (!safety || typeof safety !== "object") return null;
  if (safety.checker === "off") {
    return {
      text: "safety filter off",
      tone: "",
      detail: "Safety filter off: images are not checked (SAFETY_CHECKER=off).",
      previews: "shown",
    };
  }
  const previews = safety.previews === "off" ? "off" : "blurred";
  if (!safety.loaded) {
    return {
      text: "safety filter not ready",
      tone: "warn",
      detail: "Safety filter not ready: no image is made until its checker is loaded.",
      previews,
    };
  }
  const checker = [safety.checker, safety.version].filter(Boolean).join(" ");
  return {
    text: "safety filter on",
    tone: "ok",
    detail: [
      "Safety filter on:",
      ACTION_WORDS[safety.action] ?? "Images it flags are covered.",
      previews === "off" ? "Live previews are off." : "Live previews are blurred.",
      safety.device ? `Checker ${checker} on ${safety.device}.` : `Checker ${checker}.`,
    ].join(" "),
    previews,
  };
}

/** An image's alternative text, with the cover said first when it has one. */
export function coveredAlt(image, alt) {
  return isCovered(image) ? `Covered by the safety filter. ${alt}` : alt;
}

/**
 * Show `image`'s state in a view of it: its notice shown for a covered image, no "Use as
 * input" (starting an edit from a cover makes no sense), and a download that says it is
 * the covered image. `words` is {plain, covered}, the download's two labels.
 */
export function renderCoverState({ notice, useAsInput, download }, image, words) {
  const covered = isCovered(image);
  if (notice) setHidden(notice, !covered);
  setHidden(useAsInput, covered);
  setText(download, covered ? words.covered : words.plain);
}
