// The gallery of past images: one card per finished job, newest first, a page at a time.
// Each card offers "Use these settings", "Use as input", a download, and a delete that
// asks first.

"use strict";

import { card, renderCardCover } from "./cards.js";
import { downloadName, setHidden, setText } from "./dom.js";
import { isCovered } from "./safety.js";

const PAGE_SIZE = 12;

export class Gallery {
  /**
   * `root` is the gallery section; `api` lists and deletes images; `onUse(params)` fills
   * the form; `onUseInput(image)` makes an image the form's input; `onDeleted(jobId)`: a
   * job's images are gone; `schedulerLabel(name)` words a job's scheduler. Call refresh()
   * to load the first page.
   */
  constructor(root, { api, onUse, onUseInput, onDeleted, schedulerLabel }) {
    const part = (id) => root.querySelector(`#${id}`);
    this.el = {
      title: part("gallery-title"),
      list: part("gallery-list"),
      empty: part("gallery-empty"),
      more: part("gallery-more"),
      status: part("gallery-status"),
    };
    this.api = api;
    this.onUse = onUse;
    this.onUseInput = onUseInput;
    this.onDeleted = onDeleted;
    this.schedulerLabel = schedulerLabel;
    /** The cursor for "Load more": the oldest job shown, or null when there is no more. */
    this.next = null;
    this.loaded = false;
    this.loading = false;
    /** Job JSON by job id, for the cards on the page. */
    this.jobs = new Map();
    this.el.list.addEventListener("click", (event) => this.onListClick(event));
    this.el.list.addEventListener("keydown", (event) => this.onListKeydown(event));
    this.el.more.addEventListener("click", () => this.loadMore());
  }

  /** The scheduler labels changed (the service answered): reword the cards. */
  relabel() {
    for (const item of this.el.list.querySelectorAll("[data-scheduler]")) {
      setText(item, this.schedulerLabel(item.dataset.scheduler || null));
    }
  }

  announce(text) {
    setText(this.el.status, text);
    this.el.status.dataset.tone = "";
  }

  announceError(text) {
    setText(this.el.status, text);
    this.el.status.dataset.tone = "error";
  }

  /** Forget every card (signed out: the next key may name a client who sees others). */
  reset() {
    this.jobs.clear();
    this.el.list.replaceChildren();
    this.next = null;
    this.loaded = false;
    this.announce("");
    this.renderMore();
    this.renderEmpty();
  }

  /** Show one image of a batch card: the thumbnail, its seed and its download. */
  featureImage(item, job, index) {
    const image = job.images[index];
    item.dataset.featured = String(index);
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
    renderCardCover(item, job, image);
    for (const button of item.querySelectorAll(".card-strip-item")) {
      button.setAttribute("aria-pressed", String(Number(button.dataset.index) === index));
    }
  }

  // ---------------------------------------------------------------- list

  renderEmpty() {
    setHidden(this.el.empty, this.el.list.children.length > 0 || this.next !== null);
  }

  renderMore() {
    setHidden(this.el.more, this.next === null);
    this.el.more.disabled = this.loading;
    setText(this.el.more, this.loading ? "Loading…" : "Load more");
  }

  addCards(jobs, { atTop = false } = {}) {
    const fresh = jobs.filter((job) => job.images?.length && !this.jobs.has(job.job_id));
    for (const job of fresh) this.jobs.set(job.job_id, job);
    const cards = fresh.map((job) => card(job, this.schedulerLabel));
    if (atTop) this.el.list.prepend(...cards);
    else this.el.list.append(...cards);
    return cards;
  }

  replaceCards(page) {
    this.jobs.clear();
    this.el.list.replaceChildren();
    this.addCards(page.images);
    this.next = page.next_before ?? null;
    this.loaded = true;
  }

  async fetchPage(before = null) {
    this.loading = true;
    this.renderMore();
    try {
      return await this.api.listImages({ limit: PAGE_SIZE, before });
    } finally {
      this.loading = false;
    }
  }

  /**
   * Bring the newest images in: the first page, merged on top of what is shown.
   * If none of them is on the page yet (first load, or many new ones), start over.
   */
  async refresh() {
    try {
      const page = await this.fetchPage();
      const known = page.images.some((job) => this.jobs.has(job.job_id));
      if (!this.loaded || !known) {
        this.replaceCards(page);
      } else {
        this.addCards(page.images, { atTop: true });
      }
      if (this.el.status.dataset.tone === "error") this.announce("");
    } catch (error) {
      // 401: signed out; the sign-in form is up and says so.
      if (error.status !== 401) this.announceError(`Could not load the gallery: ${error.message}`);
    } finally {
      this.renderMore();
      this.renderEmpty();
    }
  }

  async loadMore() {
    if (this.loading || this.next === null) return;
    try {
      const page = await this.fetchPage(this.next);
      const cards = this.addCards(page.images);
      this.next = page.next_before ?? null;
      this.announce(`${cards.length} more ${cards.length === 1 ? "image" : "images"} loaded.`);
      // The button goes away on the last page: keep the keyboard focus on the new cards.
      if (this.next === null) cards[0]?.querySelector("a, button")?.focus();
    } catch (error) {
      if (error.status !== 401) this.announceError(`Could not load more images: ${error.message}`);
    } finally {
      this.renderMore();
      this.renderEmpty();
    }
  }

  // ---------------------------------------------------------------- delete

  askToDelete(item) {
    setHidden(item.querySelector(".card-actions"), true);
    setHidden(item.querySelector(".card-confirm"), false);
    item.querySelector("[data-action='keep']").focus();
  }

  keep(item) {
    setHidden(item.querySelector(".card-confirm"), true);
    setHidden(item.querySelector(".card-actions"), false);
    item.querySelector(".card-delete").focus();
  }

  async confirmDelete(item, job) {
    const buttons = item.querySelectorAll(".card-confirm button");
    buttons.forEach((button) => { button.disabled = true; });
    try {
      await this.api.deleteImages(job.job_id);
    } catch (error) {
      if (error.status !== 404) {
        buttons.forEach((button) => { button.disabled = false; });
        this.announceError(`Could not delete: ${error.message}`);
        return;
      }
    }
    const next = item.nextElementSibling ?? item.previousElementSibling;
    item.remove();
    this.jobs.delete(job.job_id);
    this.announce(job.images.length > 1 ? `Deleted ${job.images.length} images.`
                                        : "Deleted the image.");
    (next?.querySelector(".card-use") ?? this.el.title).focus();
    this.renderEmpty();
    this.onDeleted(job.job_id);
  }

  // ---------------------------------------------------------------- wiring

  onListClick(event) {
    const button = event.target.closest("[data-action]");
    const item = button?.closest(".card");
    const job = item && this.jobs.get(item.dataset.jobId);
    if (!job) return;
    switch (button.dataset.action) {
      case "use":
        this.onUse(job.params);
        this.announce("The form now has the settings of that image.");
        break;
      case "use-input": {
        const image = job.images[Number(item.dataset.featured ?? 0)];
        if (isCovered(image)) break;  // its button is hidden: a cover is no picture to edit
        this.onUseInput(image);
        this.announce("That image is now the form's input image.");
        break;
      }
      case "feature":
        this.featureImage(item, job, Number(button.dataset.index));
        break;
      case "delete":
        this.askToDelete(item);
        break;
      case "keep":
        this.keep(item);
        break;
      case "confirm-delete":
        this.confirmDelete(item, job);
        break;
      default:
        break;
    }
  }

  onListKeydown(event) {
    if (event.key !== "Escape") return;
    const confirm = event.target.closest(".card-confirm");
    if (confirm && !confirm.hidden) this.keep(confirm.closest(".card"));
  }
}
