// Where an input image file comes from: dropped on the image area, picked with the file
// chooser, or pasted anywhere on the page. Each hands the file on as it is; what the
// service makes of it (and whether it refuses it) is image_input.js's to show.

"use strict";

const hasFiles = (event) => Array.from(event.dataTransfer?.types ?? []).includes("Files");

/**
 * Wire `drop` (the drop area), `pick` (a button) and `chooser` (an <input type=file>) and
 * the page's paste; `onFile(file)` gets each file.
 */
export function wireImageSources({ drop, pick, chooser, onFile }) {
  pick.addEventListener("click", () => chooser.click());
  chooser.addEventListener("change", () => {
    const [file] = chooser.files ?? [];
    // Cleared, so picking the same file again (after removing it) still fires a change.
    chooser.value = "";
    if (file) onFile(file);
  });

  drop.addEventListener("dragover", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    drop.dataset.over = "true";
  });
  drop.addEventListener("dragleave", (event) => {
    if (!drop.contains(event.relatedTarget)) drop.dataset.over = "false";
  });
  drop.addEventListener("drop", (event) => {
    drop.dataset.over = "false";
    const [file] = event.dataTransfer?.files ?? [];
    if (!file) return;
    event.preventDefault();
    onFile(file);
  });

  // A pasted image (a screenshot, an image copied from elsewhere) becomes the input; pasted
  // text goes where it always went.
  drop.ownerDocument.addEventListener("paste", (event) => {
    const files = Array.from(event.clipboardData?.files ?? []);
    const image = files.find((file) => file.type.startsWith("image/"));
    if (!image || drop.closest("[hidden]")) return;
    event.preventDefault();
    onFile(image);
  });
}
