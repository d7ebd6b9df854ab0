// What an edit of an image means, as the service decides it: the output size it derives
// from an input (domain/generation_request.py's output_size, mirrored so the form can say
// it before sending), the denoising steps that really run, and how both read in words.
// Pure functions: nothing here touches the page.

"use strict";

/** The request bounds of width and height; /health's request_bounds replace them. */
export const SIZE_BOUNDS = { min: 64, max: 1024, multiple: 8 };

/** What a job is, from its JSON: the service's `mode`, or its fields for an older job. */
export const MODE_LABELS = {
  text_to_image: "Text to image",
  image_to_image: "Image to image",
  inpainting: "Inpainting",
};

const RESIZE_WORDS = {
  fill: "scaled to cover it and cropped evenly",
  fit: "scaled to fit inside it, the rest filled from its edges",
  stretch: "stretched to it",
};

/** Python's round(): halves go to the even neighbour, so 12.5 -> 12 as on the server. */
export function roundHalfEven(value) {
  const floor = Math.floor(value);
  const rest = value - floor;
  if (rest > 0.5) return floor + 1;
  if (rest < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function roundToMultiple(value, { min, max, multiple }) {
  return Math.max(min, Math.min(max, roundHalfEven(value / multiple) * multiple));
}

const isInt = (value) => Number.isInteger(value);

/**
 * The output [width, height] for an input of inputWidth x inputHeight, as the server
 * derives it: neither side given, the input's size scaled (keeping its shape) into the
 * bounds and rounded to the multiple; one given, the other follows the input's shape.
 */
export function outputSize(inputWidth, inputHeight, width = null, height = null,
                           bounds = SIZE_BOUNDS) {
  if (width !== null && height !== null) return [width, height];
  const aspect = inputWidth / inputHeight;
  if (isInt(width)) return [width, roundToMultiple(width / aspect, bounds)];
  if (isInt(height)) return [roundToMultiple(height * aspect, bounds), height];
  let scale = Math.min(1, bounds.max / Math.max(inputWidth, inputHeight));
  scale = Math.max(scale, bounds.min / Math.min(inputWidth, inputHeight));
  return [roundToMultiple(inputWidth * scale, bounds),
          roundToMultiple(inputHeight * scale, bounds)];
}

/** The steps the engine runs per image: all from text, int(steps * strength) from an image. */
export function denoisingSteps(steps, strength = null) {
  if (strength === null || strength === undefined) return steps;
  return Math.min(Math.floor(steps * strength), steps);
}

/** The same for a job's params (the request's to_dict()). */
export function paramsDenoisingSteps(params) {
  const steps = params?.num_inference_steps ?? 0;
  return params?.init_image ? denoisingSteps(steps, params.strength ?? 0.75) : steps;
}

/** "text_to_image" | "image_to_image" | "inpainting" for a job's JSON. */
export function jobMode(job) {
  if (job?.mode) return job.mode;
  const params = job?.params ?? {};
  if (!params.init_image) return "text_to_image";
  return params.mask_image ? "inpainting" : "image_to_image";
}

export function modeLabel(mode) {
  return MODE_LABELS[mode] ?? String(mode);
}

const size = (width, height) => `${width} × ${height}`;

/**
 * The size rule in words. `fromInput`: the service derives the size (width and height
 * left out); else the user's `width` x `height`, the input fitted by `resizeMode`.
 */
export function sizeRuleWords({ inputWidth, inputHeight, fromInput, width, height,
                                resizeMode = "fill", bounds = SIZE_BOUNDS }) {
  if (fromInput) {
    const [outW, outH] = outputSize(inputWidth, inputHeight, null, null, bounds);
    if (outW === inputWidth && outH === inputHeight) {
      return `Output ${size(outW, outH)}, from the input.`;
    }
    const larger = outW * outH > inputWidth * inputHeight;
    const scaled = Math.abs(outW - inputWidth) > bounds.multiple
      || Math.abs(outH - inputHeight) > bounds.multiple;
    let how = "rounded to multiples of " + bounds.multiple;
    if (scaled) how = larger ? "scaled up to fit" : "scaled down to fit";
    return `Output ${size(outW, outH)}, from the input (${size(inputWidth, inputHeight)}, ${how}).`;
  }
  const sameShape = Math.abs(width / height - inputWidth / inputHeight) < 0.01;
  const how = sameShape ? "scaled to it (the same shape)" : RESIZE_WORDS[resizeMode]
    ?? RESIZE_WORDS.fill;
  return `Output ${size(width, height)}, set by you; the input is ${how}.`;
}

/** "15 of 20 steps run", or what strength 0 means. */
export function stepsWords(steps, strength) {
  const run = denoisingSteps(steps, strength);
  if (run === 0) return "0 steps run: the result is the input, resized.";
  return `${run} of ${steps} ${steps === 1 ? "step runs" : "steps run"}.`;
}
