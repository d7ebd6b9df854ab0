// The gallery of past images: one card per finished job, newest first, a page at a time.
// Each card offers "Use these settings", a download, and a delete that asks first.

"use strict";

import { api } from "./api.js";
import { byId, downloadName, h, schedulerLabel, setHidden, setText, truncate } from "./dom.js";

const PAGE_SIZE = 12;
const PROMPT_CHARS = 90;

const el = {
  title: byId("gallery-title"),
  list: byId("gallery-list"),
  empty: byId("gallery-empty"),
  more: byId("gallery-more"),
  status: byId("gallery-status"),
};

const state = {
  /** The cursor for "Load more": the oldest job shown, or null when there is no more. */
  next: null,
  loaded: false,
  loading: false,
  /** Job JSON by job id, for the cards on the page. */
  jobs: new Map(),
  onUse: () => {},
  onDeleted: () => {},
};

function announce(text) {
  setText(el.status, text);
  el.status.dataset.tone = "";
}

function announceError(text) {
  setText(el.status, text);
  el.status.dataset.tone = "error";
}

// ---------------------------------------------------------------- cards

function metaLine(params) {
  const parts = [
    `${params.width} × ${params.height}`,
    `${params.num_inference_steps} steps`,
    `guidance ${params.guidance_scale}`,
    schedulerLabel(params.scheduler),
  ];
  return h("p", { className: "card-meta" },
    ...parts.map((part) => h("span", { className: "card-meta-item" }, part)));
}

/** "Negative: …" when the job had one; text only, so a prompt never becomes markup. */
function negativeLine(params) {
  if (!params.negative_prompt) return null;
  return h("p", { className: "card-negative", title: params.negative_prompt },
    h("span", { className: "card-negative-label" }, "Negative: "),
    h("span", { className: "card-negative-text" },
      truncate(params.negative_prompt, PROMPT_CHARS)));
}

function miniStrip(job) {
  const images = job.images;
  if (images.length < 2) return null;
  return h("ul", { className: "card-strip", attrs: { "aria-label": "Images of this batch" } },
    ...images.map((image, index) => h("li", {},
      h("button", {
        type: "button",
        className: "card-strip-item",
        dataset: { action: "feature", index: String(index), seed: String(image.seed) },
        attrs: { "aria-pressed": String(index === 0),
                 "aria-label": `Show image ${index + 1} of ${images.length}, seed ${image.seed}` },
      }, h("img", { src: image.url, width: image.width, height: image.height, alt: "",
                    loading: "lazy", decoding: "async" })))));
}

function card(job) {
  const { params } = job;
  const first = job.images[0];
  const promptId = `card-${job.job_id}-prompt`;
  const count = job.images.length;
  return h("li", { className: "card", dataset: { jobId: job.job_id } },
    h("a", {
      className: "card-thumb",
      href: first.url,
      target: "_blank",
      rel: "noopener",
      title: "Open the full-size image",
    },
    h("img", { src: first.url, width: first.width, height: first.height, loading: "lazy",
               decoding: "async", alt: `Image for the prompt: ${truncate(params.prompt, 120)}` }),
    count > 1 ? h("span", { className: "card-count" }, `${count} images`) : null),
    miniStrip(job),
    h("div", { className: "card-body" },
      h("p", { className: "card-prompt", id: promptId, title: params.prompt },
        truncate(params.prompt, PROMPT_CHARS)),
      metaLine(params),
      negativeLine(params),
      h("p", { className: "card-seed" }, "Seed ",
        h("span", { className: "mono card-seed-value" }, String(first.seed)))),
    h("div", { className: "card-actions" },
      h("button", { type: "button", className: "button small card-use",
                    dataset: { action: "use" }, attrs: { "aria-describedby": promptId } },
        "Use these settings"),
      h("a", { className: "button small card-download", href: first.url,
               download: downloadName(job, first), attrs: { "aria-describedby": promptId } },
        "Download"),
      h("button", { type: "button", className: "button small card-delete",
                    dataset: { action: "delete" }, attrs: { "aria-describedby": promptId } },
        "Delete")),
    h("div", { className: "card-confirm", hidden: true, attrs: { role: "group",
                                                                  "aria-label": "Confirm delete" } },
      h("span", { className: "card-confirm-text" },
        count > 1 ? `Delete these ${count} images?` : "Delete this image?"),
      h("button", { type: "button", className: "button small danger",
                    dataset: { action: "confirm-delete" } }, "Delete"),
      h("button", { type: "button", className: "button small", dataset: { action: "keep" } },
        "Keep")));
}

/** Show one image of a batch card: the thumbnail, its seed and its download. */
function featureImage(item, job, index) {
  const image = job.images[index];
  const thumb = item.querySelector(".card-thumb");
  const img = thumb.querySelector("img");
  thumb.href = image.url;
  img.width = image.width;
  img.height = image.height;
  img.src = image.url;
  const download = item.querySelector(".card-download");
  download.href = image.url;
  download.download = downloadName(job, image);
  setText(item.querySelector(".card-seed-value"), String(image.seed));
  for (const button of item.querySelectorAll(".card-strip-item")) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.index) === index));
  }
}

// ---------------------------------------------------------------- list

function renderEmpty() {
  setHidden(el.empty, el.list.children.length > 0 || state.next !== null);
}

function renderMore() {
  setHidden(el.more, state.next === null);
  el.more.disabled = state.loading;
  setText(el.more, state.loading ? "Loading…" : "Load more");
}

function addCards(jobs, { atTop = false } = {}) {
  const fresh = jobs.filter((job) => job.images?.length && !state.jobs.has(job.job_id));
  for (const job of fresh) state.jobs.set(job.job_id, job);
  const cards = fresh.map(card);
  if (atTop) el.list.prepend(...cards);
  else el.list.append(...cards);
  return cards;
}

function replaceCards(page) {
  state.jobs.clear();
  el.list.replaceChildren();
  addCards(page.images);
  state.next = page.next_before ?? null;
  state.loaded = true;
}

async function fetchPage(before = null) {
  state.loading = true;
  renderMore();
  try {
    return await api.listImages({ limit: PAGE_SIZE, before });
  } finally {
    state.loading = false;
  }
}

/**
 * Bring the newest images in: the first page, merged on top of what is shown.
 * If none of them is on the page yet (first load, or many new ones), start over.
 */
export async function refreshGallery() {
  try {
    const page = await fetchPage();
    const known = page.images.some((job) => state.jobs.has(job.job_id));
    if (!state.loaded || !known) {
      replaceCards(page);
    } else {
      addCards(page.images, { atTop: true });
    }
    if (el.status.dataset.tone === "error") announce("");
  } catch (error) {
    announceError(`Could not load the gallery: ${error.message}`);
  } finally {
    renderMore();
    renderEmpty();
  }
}

async function loadMore() {
  if (state.loading || state.next === null) return;
  try {
    const page = await fetchPage(state.next);
    const cards = addCards(page.images);
    state.next = page.next_before ?? null;
    announce(`${cards.length} more ${cards.length === 1 ? "image" : "images"} loaded.`);
    // The button goes away on the last page: keep the keyboard focus on the new cards.
    if (state.next === null) cards[0]?.querySelector("a, button")?.focus();
  } catch (error) {
    announceError(`Could not load more images: ${error.message}`);
  } finally {
    renderMore();
    renderEmpty();
  }
}

// ---------------------------------------------------------------- delete

function askToDelete(item) {
  setHidden(item.querySelector(".card-actions"), true);
  setHidden(item.querySelector(".card-confirm"), false);
  item.querySelector("[data-action='keep']").focus();
}

function keep(item) {
  setHidden(item.querySelector(".card-confirm"), true);
  setHidden(item.querySelector(".card-actions"), false);
  item.querySelector(".card-delete").focus();
}

async function confirmDelete(item, job) {
  const buttons = item.querySelectorAll(".card-confirm button");
  buttons.forEach((button) => { button.disabled = true; });
  try {
    await api.deleteImages(job.job_id);
  } catch (error) {
    if (error.status !== 404) {
      buttons.forEach((button) => { button.disabled = false; });
      announceError(`Could not delete: ${error.message}`);
      return;
    }
  }
  const next = item.nextElementSibling ?? item.previousElementSibling;
  item.remove();
  state.jobs.delete(job.job_id);
  announce(job.images.length > 1 ? `Deleted ${job.images.length} images.` : "Deleted the image.");
  (next?.querySelector(".card-use") ?? el.title).focus();
  renderEmpty();
  state.onDeleted(job.job_id);
}

// ---------------------------------------------------------------- wiring

function onListClick(event) {
  const button = event.target.closest("[data-action]");
  const item = button?.closest(".card");
  const job = item && state.jobs.get(item.dataset.jobId);
  if (!job) return;
  switch (button.dataset.action) {
    case "use":
      state.onUse(job.params);
      announce("The form now has the settings of that image.");
      break;
    case "feature":
      featureImage(item, job, Number(button.dataset.index));
      break;
    case "delete":
      askToDelete(item);
      break;
    case "keep":
      keep(item);
      break;
    case "confirm-delete":
      confirmDelete(item, job);
      break;
    default:
      break;
  }
}

function onListKeydown(event) {
  if (event.key !== "Escape") return;
  const confirm = event.target.closest(".card-confirm");
  if (confirm && !confirm.hidden) keep(confirm.closest(".card"));
}

/** `onUse(params)`: fill the form; `onDeleted(jobId)`: a job's images are gone. */
export function initGallery({ onUse, onDeleted }) {
  state.onUse = onUse;
  state.onDeleted = onDeleted;
  el.list.addEventListener("click", onListClick);
  el.list.addEventListener("keydown", onListKeydown);
  el.more.addEventListener("click", loadMore);
  refreshGallery();
}
