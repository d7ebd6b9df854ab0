"""The edit rules and the mask alone, in Chromium: edit_rules.js against the server's own
output_size and step count, and mask_layer.js's paint, invert, undo and export.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from playwright.sync_api import Page

from domain.output_size import output_size

pytestmark = pytest.mark.browser


def run(page: Page, body: str) -> Any:
    return page.evaluate(f"async () => {{ {body} }}")


INPUT_SIZES = [
    (640, 480),
    (512, 512),
    (4000, 3000),
    (3000, 4000),
    (100, 100),
    (641, 481),
    (30, 2000),
    (1000, 333),
    (1023, 1025),
    (12, 12),
    (1920, 1080),
    (833, 1201),
]
GIVEN = [(None, None), (512, None), (None, 300), (None, 1024), (200, None), (768, 512)]


def test_output_size_is_the_servers(units_page: Page) -> None:
    cases = list(itertools.product(INPUT_SIZES, GIVEN))
    got = run(
        units_page,
        f"""
        const {{ outputSize }} = await import("/static/edit_rules.js");
        return {json.dumps(cases)}.map(([[w, h], [gw, gh]]) => outputSize(w, h, gw, gh));
        """,
    )
    expected = [list(output_size(w, h, gw, gh)) for (w, h), (gw, gh) in cases]
    assert got == expected


def test_rounding_halves_go_to_the_even_neighbour_as_pythons_round(units_page: Page) -> None:
    values = [0.5, 1.5, 2.5, 12.5, 13.5, 12.4999, 12.5001, 7.0]
    got = run(
        units_page,
        f"""
        const {{ roundHalfEven }} = await import("/static/edit_rules.js");
        return {values!r}.map(roundHalfEven);
        """,
    )
    assert got == [round(value) for value in values]


def test_steps_that_run_are_int_of_steps_times_strength(units_page: Page) -> None:
    strengths = [0, 0.01, 0.05, 0.29, 0.3, 0.5, 0.7, 0.75, 0.99, 1]
    steps = [1, 4, 10, 20, 37, 100]
    cases = [[n, s] for n in steps for s in strengths]
    got = run(
        units_page,
        f"""
        const {{ denoisingSteps }} = await import("/static/edit_rules.js");
        return {cases!r}.map(([n, s]) => denoisingSteps(n, s));
        """,
    )
    assert got == [min(int(n * s), n) for n, s in cases]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            "{inputWidth: 640, inputHeight: 480, fromInput: true}",
            "Output 640 x 480, from the input.",
        ),
        (
            "{inputWidth: 4000, inputHeight: 3000, fromInput: true}",
            "Output 1024 x 768, from the input (4000 x 3000, scaled down to fit).",
        ),
        (
            "{inputWidth: 30, inputHeight: 40, fromInput: true}",
            "Output 64 x 88, from the input (30 x 40, scaled up to fit).",
        ),
        (
            "{inputWidth: 641, inputHeight: 479, fromInput: true}",
            "Output 640 x 480, from the input (641 x 479, rounded to multiples of 8).",
        ),
        (
            "{inputWidth: 640, inputHeight: 480, fromInput: false, width: 512, height: 512,"
            " resizeMode: 'fill'}",
            "Output 512 x 512, set by you; the input is scaled to cover it and cropped evenly.",
        ),
        (
            "{inputWidth: 640, inputHeight: 480, fromInput: false, width: 512, height: 512,"
            " resizeMode: 'fit'}",
            "Output 512 x 512, set by you; the input is scaled to fit inside it, the rest "
            "filled from its edges.",
        ),
        (
            "{inputWidth: 640, inputHeight: 480, fromInput: false, width: 512, height: 512,"
            " resizeMode: 'stretch'}",
            "Output 512 x 512, set by you; the input is stretched to it.",
        ),
        (
            "{inputWidth: 640, inputHeight: 480, fromInput: false, width: 320, height: 240,"
            " resizeMode: 'stretch'}",
            "Output 320 x 240, set by you; the input is scaled to it (the same shape).",
        ),
    ],
)
def test_the_size_rule_in_words(units_page: Page, rule: str, expected: str) -> None:
    """The page writes sizes with a multiplication sign; the cases say " x " for it."""
    got = run(
        units_page,
        f"""
        const {{ sizeRuleWords }} = await import("/static/edit_rules.js");
        return sizeRuleWords({rule});
        """,
    )
    assert got == expected.replace(" x ", " \N{MULTIPLICATION SIGN} ")


def test_steps_and_mode_in_words(units_page: Page) -> None:
    got = run(
        units_page,
        """
        const rules = await import("/static/edit_rules.js");
        return {
          steps: [rules.stepsWords(20, 0.75), rules.stepsWords(20, 0), rules.stepsWords(1, 1)],
          modes: [
            rules.jobMode({ mode: "inpainting", params: {} }),
            rules.jobMode({ params: { init_image: { upload_id: "u" }, mask_image: null } }),
            rules.jobMode({ params: { init_image: { upload_id: "u" }, mask_image: {} } }),
            rules.jobMode({ params: { prompt: "x" } }),
          ].map(rules.modeLabel),
          ran: rules.paramsDenoisingSteps({ num_inference_steps: 20, strength: 0.5,
                                            init_image: { upload_id: "u" } }),
        };
        """,
    )
    assert got == {
        "steps": [
            "15 of 20 steps run.",
            "0 steps run: the result is the input, resized.",
            "1 of 1 step runs.",
        ],
        "modes": ["Inpainting", "Image to image", "Inpainting", "Text to image"],
        "ran": 10,
    }


MASK = """
const { MaskLayer } = await import("/static/mask_layer.js");
const canvas = document.createElement("canvas");
const layer = new MaskLayer(canvas);
layer.reset(40, 20);
// Coverage of one pixel (0..255) and the exported mask's grey there.
const alpha = (x, y) => layer.context.getImageData(x, y, 1, 1).data[3];
const grey = (x, y) => {
  const pixel = layer.toMaskCanvas().getContext("2d").getImageData(x, y, 1, 1).data;
  return [pixel[0], pixel[1], pixel[2], pixel[3]];
};
const paintLeft = () => {
  layer.checkpoint();
  layer.stroke({ x: 0, y: 10 }, { x: 10, y: 10 }, 12);
};
"""


def test_a_painted_mask_inverts_and_undoes_step_by_step(units_page: Page) -> None:
    record = run(
        units_page,
        MASK
        + """
        const states = [];
        const note = (name) => states.push([name, layer.isEmpty(), alpha(2, 10), alpha(35, 10),
                                            layer.canUndo]);
        note("new");
        paintLeft();
        note("painted");
        layer.invert();
        note("inverted");
        layer.clear();
        note("cleared");
        layer.fill();
        note("filled");
        const undone = [];
        while (layer.undo()) note(`undo ${undone.push(1)}`);
        return { states, undoWhenNothingLeft: layer.undo() };
        """,
    )
    assert record["states"] == [
        ["new", True, 0, 0, False],
        ["painted", False, 255, 0, True],
        ["inverted", False, 0, 255, True],
        ["cleared", True, 0, 0, True],
        ["filled", False, 255, 255, True],
        ["undo 1", True, 0, 0, True],
        ["undo 2", False, 0, 255, True],
        ["undo 3", False, 255, 0, True],
        ["undo 4", True, 0, 0, False],
    ]
    assert record["undoWhenNothingLeft"] is False


def test_erasing_and_a_fresh_mask(units_page: Page) -> None:
    record = run(
        units_page,
        MASK
        + """
        paintLeft();
        layer.checkpoint();
        layer.stroke({ x: 2, y: 10 }, { x: 2, y: 10 }, 4, { erase: true });
        const erased = [alpha(2, 10), alpha(9, 10)];
        const before = layer.version;
        layer.reset(8, 6);
        return { erased, changed: layer.version > before, empty: layer.isEmpty(),
                 canUndo: layer.canUndo, size: [canvas.width, canvas.height] };
        """,
    )
    assert record == {
        "erased": [0, 255],
        "changed": True,
        "empty": True,
        "canUndo": False,
        "size": [8, 6],
    }


def test_the_mask_exports_white_on_black_at_the_image_size_and_loads_back(
    units_page: Page,
) -> None:
    record = run(
        units_page,
        MASK
        + """
        paintLeft();
        const blob = await layer.toMaskBlob();
        const bitmap = await createImageBitmap(blob);
        const painted = grey(2, 10);
        const kept = grey(35, 10);
        const other = new MaskLayer(document.createElement("canvas"));
        other.reset(40, 20);
        other.load(bitmap);
        const back = [other.context.getImageData(2, 10, 1, 1).data[3],
                      other.context.getImageData(35, 10, 1, 1).data[3]];
        return { type: blob.type, size: [bitmap.width, bitmap.height], painted, kept, back,
                 canUndoLoad: other.canUndo };
        """,
    )
    assert record == {
        "type": "image/png",
        "size": [40, 20],
        "painted": [255, 255, 255, 255],
        "kept": [0, 0, 0, 255],
        "back": [255, 0],
        "canUndoLoad": True,
    }
