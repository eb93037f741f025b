// FlipCrop augmentation of docs/math.md §4.1 on one [C, H, W] image: a horizontal flip with probability 0.5, then an
// H×W crop at a random offset from the image zero-padded by 4 on every side (torchvision's RandomCrop with
// padding 4: offsets 0..8 in the padded image). Unlike the paper's PIL round trip, pixels are not quantised.
export const FLIPCROP_PAD = 4;

export interface FlipCropDraw {
  flip: boolean;
  /** Crop offsets into the padded image, 0..2·pad; pad, pad is the unshifted image. */
  dy: number;
  dx: number;
}

/** The random choices for one image, drawn in a fixed order (flip, dy, dx) so a run is reproducible. */
export function drawFlipCrop(rng: { uniform(): number; int(n: number): number }, pad = FLIPCROP_PAD): FlipCropDraw {
  const flip = rng.uniform() < 0.5;
  const dy = rng.int(2 * pad + 1);
  const dx = rng.int(2 * pad + 1);
  return { flip, dy, dx };
}

/** Writes the augmented image at src[srcOffset…] to dst[dstOffset…] (different buffers or ranges). */
export function flipCrop(
  src: Float32Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  shape: number[],
  draw: FlipCropDraw,
  pad = FLIPCROP_PAD,
): void {
  const [C, H, W] = shape;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < H; i++) {
      const out = dstOffset + (c * H + i) * W;
      const si = i + draw.dy - pad; // row in the (flipped) source image
      if (si < 0 || si >= H) {
        dst.fill(0, out, out + W);
        continue;
      }
      const row = srcOffset + (c * H + si) * W;
      for (let j = 0; j < W; j++) {
        const sj = j + draw.dx - pad;
        dst[out + j] = sj < 0 || sj >= W ? 0 : src[row + (draw.flip ? W - 1 - sj : sj)];
      }
    }
  }
}
