"""Editing images from the page, on the mock: an input image by the file chooser, a drop
and the gallery; a mask painted with the pointer; the job's body, mode and progress; and
"Use these settings" bringing the input and the mask back.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, Request, expect

from tests.browser.conftest import open_ui, prompt_field, result_panel, status_line

pytestmark = pytest.mark.browser

TIMES = "\N{MULTIPLICATION SIGN}"


def write_png(path: Path, width: int, height: int) -> Path:
    """A picture with some structure (a gradient), so blends and masks show."""
    picture = Image.new("RGB", (width, height))
    picture.putdata(
        [(x * 255 // width, y * 255 // height, 128) for y in range(height) for x in range(width)]
    )
    picture.save(path)
    return path


def image_area(page: Page) -> Locator:
    return page.get_by_role("group", name="Image (optional)")


def choose_file(page: Page, path: Path) -> None:
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Choose an image…").click()
    chooser.value.set_files(str(path))


def mask_canvas(page: Page) -> Locator:
    return page.get_by_role("img", name="Mask over the input image")


def paint(page: Page, *, fractions: list[tuple[float, float]]) -> None:
    """One stroke through points given as fractions of the canvas's box."""
    # The mouse moves in the viewport's coordinates: the canvas must be in it.
    mask_canvas(page).scroll_into_view_if_needed()
    box = mask_canvas(page).bounding_box()
    assert box is not None
    points = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in fractions]
    page.mouse.move(*points[0])
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*point, steps=4)
    page.mouse.up()


def submitted_body(request: Request) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(request.post_data or "{}")
    return body


def test_upload_paint_a_mask_and_inpaint_on_the_mock(page: Page, tmp_path: Path) -> None:
    open_ui(page)
    prompt_field(page).fill("an inpainted barn door")
    page.get_by_label("Steps").fill("8")
    choose_file(page, write_png(tmp_path / "barn.png", 96, 64))

    area = image_area(page)
    expect(area.get_by_text(f"Input 96 {TIMES} 64")).to_be_visible()
    expect(area.get_by_text(f"Output 96 {TIMES} 64, from the input.")).to_be_visible()
    expect(page.get_by_label("Width")).to_be_disabled()
    expect(page.get_by_label("Width")).to_have_value("96")
    page.get_by_label("Strength").fill("0.5")
    expect(area.get_by_text("4 of 8 steps run.")).to_be_visible()
    expect(area.get_by_text("No mask: the whole image changes (image to image).")).to_be_visible()

    paint(page, fractions=[(0.1, 0.5), (0.3, 0.5), (0.45, 0.5)])
    expect(area.get_by_text("Inpainting:")).to_be_visible()
    expect(area.get_by_role("button", name="Undo")).to_be_enabled()

    with page.expect_request(
        lambda request: request.url.endswith("/jobs") and request.method == "POST"
    ) as sent:
        page.get_by_role("button", name="Generate").click()
    body = submitted_body(sent.value)
    assert "width" not in body and "height" not in body
    assert set(body["init_image"]) == {"upload_id"}
    assert set(body["mask_image"]) == {"upload_id"}
    assert body["strength"] == 0.5
    assert (body["mask_blur"], body["invert_mask"], body["resize_mode"]) == (4, False, "fill")

    expect(status_line(page)).to_have_attribute("data-state", "complete")
    # The progress counted the steps that ran: 8 steps at strength 0.5.
    expect(page.locator("#progress-text")).to_have_text("Step 4 of 4")
    params = result_panel(page).locator("#result-params")
    expect(params).to_contain_text("Inpainting")
    expect(params).to_contain_text(f"96 {TIMES} 64")

    # The mask went up at the input's size, white where it was painted.
    mask = page.request.get(f"/uploads/{body['mask_image']['upload_id']}.png")
    assert mask.ok, mask.text()
    picture = Image.open(io.BytesIO(mask.body())).convert("L")
    assert picture.size == (96, 64)
    assert picture.getpixel((20, 32)) == 255
    assert picture.getpixel((90, 5)) == 0

    card = page.locator(".card").first
    expect(card.locator(".card-prompt")).to_have_text("an inpainted barn door")
    expect(card.locator(".card-mode")).to_have_text("Inpainting")
    expect(card.get_by_role("img", name=f"Input image, 96 {TIMES} 64")).to_be_visible()

    # Back to text: then "Use these settings" brings the input, strength and mask back.
    area.get_by_role("button", name="Remove image").click()
    expect(page.get_by_label("Width")).to_be_enabled()
    expect(page.get_by_label("Strength")).to_be_hidden()
    card.get_by_role("button", name="Use these settings").click()
    expect(area.get_by_text(f"Input 96 {TIMES} 64")).to_be_visible()
    expect(page.get_by_label("Strength")).to_have_value("0.5")
    expect(area.get_by_text("Inpainting:")).to_be_visible()


def test_a_dropped_text_file_shows_the_services_refusal(page: Page) -> None:
    open_ui(page)
    drop = page.locator("#image-drop")
    data = page.evaluate_handle(
        """() => {
          const transfer = new DataTransfer();
          transfer.items.add(new File(["not a picture"], "notes.txt", { type: "text/plain" }));
          return transfer;
        }"""
    )
    drop.dispatch_event("dragover", {"dataTransfer": data})
    drop.dispatch_event("drop", {"dataTransfer": data})
    # The service looked at the bytes and said what the file is.
    expect(image_area(page).get_by_role("alert")).to_have_text(
        "notes.txt: The file is text, not an image; only PNG, JPEG and WEBP images are accepted."
    )
    expect(page.locator("#image-chosen")).to_be_hidden()
    # The page goes on: a text-to-image job still runs.
    prompt_field(page).fill("after a refused drop")
    page.get_by_role("button", name="Generate").click()
    expect(status_line(page)).to_have_attribute("data-state", "complete")


def test_a_text_file_from_the_chooser_shows_the_services_refusal(
    page: Page, tmp_path: Path
) -> None:
    open_ui(page)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture", encoding="utf-8")
    choose_file(page, notes)
    expect(image_area(page).get_by_role("alert")).to_contain_text("notes.txt: The file is text")
    expect(page.locator("#image-chosen")).to_be_hidden()


def test_use_as_input_from_the_gallery_makes_an_image_to_image_job(page: Page) -> None:
    made = page.request.post(
        "/image",
        data={"prompt": "a gallery source", "width": 128, "height": 96, "num_inference_steps": 4},
    )
    assert made.ok, made.text()
    source = made.json()
    open_ui(page)
    card = page.locator(f'.card[data-job-id="{source["job_id"]}"]')
    card.get_by_role("button", name="Use as input").click()
    area = image_area(page)
    expect(area.get_by_text(f"Input 128 {TIMES} 96")).to_be_visible()
    expect(page.get_by_label("Strength")).to_be_focused()
    # Width and height set by the user: the rule says so and offers the resize mode.
    area.get_by_role("checkbox", name="Size from the input").uncheck()
    page.get_by_label("Width").fill("64")
    page.get_by_label("Height").fill("64")
    page.get_by_label("Resize mode").select_option("fit")
    expect(
        area.get_by_text(f"Output 64 {TIMES} 64, set by you; the input is scaled to fit")
    ).to_be_visible()

    prompt_field(page).fill("a gallery edit")
    with page.expect_request(
        lambda request: request.url.endswith("/jobs") and request.method == "POST"
    ) as sent:
        page.get_by_role("button", name="Generate").click()
    body = submitted_body(sent.value)
    image_name = source["images"][0]["url"].rsplit("/", 1)[1]
    assert body["init_image"] == {"image_id": image_name}
    assert (body["width"], body["height"], body["resize_mode"]) == (64, 64, "fit")
    assert "mask_image" not in body

    expect(status_line(page)).to_have_attribute("data-state", "complete")
    expect(result_panel(page).locator("#result-params")).to_contain_text("Image to image")
    edited = page.locator(".card").first
    expect(edited.locator(".card-mode")).to_have_text("Image to image")

    # "Use as input" on the latest image too.
    result_panel(page).get_by_role("button", name="Use as input").click()
    expect(area.get_by_text(f"Input 64 {TIMES} 64")).to_be_visible()


def test_a_pasted_image_becomes_the_input(page: Page, tmp_path: Path) -> None:
    open_ui(page)
    png = base64.b64encode((write_png(tmp_path / "paste.png", 80, 48)).read_bytes()).decode()
    page.evaluate(
        """(data) => {
          const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
          const transfer = new DataTransfer();
          transfer.items.add(new File([bytes], "paste.png", { type: "image/png" }));
          const event = new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true,
                                                      cancelable: true });
          document.body.dispatchEvent(event);
        }""",
        png,
    )
    expect(image_area(page).get_by_text(f"Input 80 {TIMES} 48")).to_be_visible()


def test_an_edit_whose_input_upload_is_gone_keeps_its_card_and_says_so(
    page: Page, tmp_path: Path
) -> None:
    png = write_png(tmp_path / "gone.png", 72, 48).read_bytes()
    stored = page.request.post("/uploads", data=png, headers={"Content-Type": "image/png"})
    assert stored.status == 201, stored.text()
    upload_id = stored.json()["id"]
    made = page.request.post(
        "/image",
        data={
            "prompt": "an edit of a removed upload",
            "init_image": {"upload_id": upload_id},
            "strength": 0.5,
            "num_inference_steps": 4,
        },
    )
    assert made.ok, made.text()
    job_id = made.json()["job_id"]
    removed = page.request.delete(f"/uploads/{upload_id}")
    assert removed.status == 204, removed.text()

    open_ui(page)
    card = page.locator(f'.card[data-job-id="{job_id}"]')
    expect(card.locator(".card-mode")).to_have_text("Image to image")
    expect(card.locator(".card-meta-item").nth(1)).to_have_text("2 of 4 steps")
    expect(card.locator(".card-input-thumb")).to_be_hidden()

    card.get_by_role("button", name="Use these settings").click()
    expect(image_area(page).get_by_role("alert")).to_have_text(
        "The input image is no longer stored: choose it again."
    )
    expect(page.locator("#image-chosen")).to_be_hidden()
    # The job's own size stays (72 x 48 was scaled up into the bounds: 96 x 64).
    expect(page.get_by_label("Width")).to_be_enabled()
    expect(page.get_by_label("Width")).to_have_value("96")


def test_the_whole_mask_from_the_keyboard_and_erasing_with_the_pointer(
    page: Page, tmp_path: Path
) -> None:
    open_ui(page)
    choose_file(page, write_png(tmp_path / "keys.png", 64, 64))
    area = image_area(page)
    summary = page.locator("#mask-summary")
    expect(summary).to_have_text("No mask: the whole image changes (image to image).")

    area.get_by_role("button", name="Fill mask").focus()
    page.keyboard.press("Enter")
    expect(summary).to_have_text("Inpainting: 100 % of the image is masked.")
    area.get_by_role("button", name="Invert mask").focus()
    page.keyboard.press("Enter")
    expect(summary).to_have_text("No mask: the whole image changes (image to image).")
    area.get_by_role("button", name="Undo").focus()
    page.keyboard.press("Enter")
    expect(summary).to_have_text("Inpainting: 100 % of the image is masked.")

    # The eraser takes paint away where the pointer goes.
    area.get_by_role("button", name="Erase").click()
    expect(area.get_by_role("button", name="Erase")).to_have_attribute("aria-pressed", "true")
    paint(page, fractions=[(0.05, 0.5), (0.95, 0.5)])
    expect(summary).not_to_have_text("Inpainting: 100 % of the image is masked.")
    expect(summary).to_contain_text("Inpainting:")

    area.get_by_role("button", name="Clear mask").focus()
    page.keyboard.press("Enter")
    expect(summary).to_have_text("No mask: the whole image changes (image to image).")
    page.keyboard.press("Control+z")
    expect(summary).to_contain_text("Inpainting:")


@pytest.mark.parametrize("pointer_type", ["touch", "pen"])
def test_a_finger_or_a_pen_paints_the_mask(page: Page, tmp_path: Path, pointer_type: str) -> None:
    open_ui(page)
    choose_file(page, write_png(tmp_path / "touch.png", 64, 64))
    expect(mask_canvas(page)).to_have_css("touch-action", "none")
    mask_canvas(page).scroll_into_view_if_needed()
    page.evaluate(
        """(pointerType) => {
          const canvas = document.getElementById("mask-canvas");
          const box = canvas.getBoundingClientRect();
          const at = (type, fx) => canvas.dispatchEvent(new PointerEvent(type, {
            pointerId: 7, pointerType, isPrimary: true, bubbles: true, cancelable: true,
            clientX: box.left + fx * box.width, clientY: box.top + box.height / 2,
            button: type === "pointermove" ? -1 : 0, buttons: type === "pointerup" ? 0 : 1,
          }));
          at("pointerdown", 0.2);
          at("pointermove", 0.5);
          at("pointermove", 0.8);
          at("pointerup", 0.8);
        }""",
        pointer_type,
    )
    expect(page.locator("#mask-summary")).to_contain_text("Inpainting:")
