// test-backends: one
// The chart palette (src/chartPalette.ts) is readable in every theme kind: each colour against its theme's background
// by the WCAG contrast ratio, each two colours apart by CIEDE2000 in CIELAB; and for a colour-blind reader (protanopia,
// deuteranopia, tritanopia, simulated after Machado, Oliveira & Fernandes 2009, severity 1) the methods of the paper's
// figure (docs/math.md §3.6) that share a dash pattern stay apart by colour. A colour added too close to another, or
// too faint on a background, fails here.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  CHART_PALETTES,
  FAMILY_DASH,
  MIN_CONTRAST,
  SEQUENTIAL_STOPS,
  sequentialColor,
  type ThemeKind,
} from '../../src/chartPalette';
import { ESTIMATORS, estimatorStyle, type ChartColor } from '../../src/estimators';

type Rgb = [number, number, number];
type Lab = [number, number, number];

function linearRgb(hex: string): Rgb {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  assert.ok(m, `${hex} is a #rrggbb colour`);
  const lin = (c: number) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  return [m[1], m[2], m[3]].map((h) => lin(parseInt(h, 16) / 255)) as Rgb;
}

/** WCAG 2 relative luminance and contrast ratio. */
const luminance = ([r, g, b]: Rgb) => 0.2126 * r + 0.7152 * g + 0.0722 * b;
function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(linearRgb(a)), luminance(linearRgb(b))].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** Linear sRGB → CIELAB (D65). */
function lab([r, g, b]: Rgb): Lab {
  const x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
  const y = 0.2126729 * r + 0.7151522 * g + 0.072175 * b;
  const z = (0.0193339 * r + 0.119192 * g + 0.9503041 * b) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116);
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}

/** CIEDE2000 colour difference (Sharma, Wu & Dalal 2005). */
function deltaE2000([l1, a1, b1]: Lab, [l2, a2, b2]: Lab): number {
  const rad = Math.PI / 180;
  const cBar = (Math.hypot(a1, b1) + Math.hypot(a2, b2)) / 2;
  const g = 0.5 * (1 - Math.sqrt(cBar ** 7 / (cBar ** 7 + 25 ** 7)));
  const [a1p, a2p] = [(1 + g) * a1, (1 + g) * a2];
  const [c1, c2] = [Math.hypot(a1p, b1), Math.hypot(a2p, b2)];
  const hue = (b: number, a: number) => (a === 0 && b === 0 ? 0 : (Math.atan2(b, a) / rad + 360) % 360);
  const [h1, h2] = [hue(b1, a1p), hue(b2, a2p)];
  let dh = c1 * c2 === 0 ? 0 : h2 - h1;
  if (dh > 180) dh -= 360;
  else if (dh < -180) dh += 360;
  const dL = l2 - l1;
  const dC = c2 - c1;
  const dH = 2 * Math.sqrt(c1 * c2) * Math.sin((dh / 2) * rad);
  const lBar = (l1 + l2) / 2;
  const cBarP = (c1 + c2) / 2;
  let hBar = h1 + h2;
  if (c1 * c2 !== 0) hBar = (Math.abs(h1 - h2) > 180 ? hBar + (hBar < 360 ? 360 : -360) : hBar) / 2;
  const t =
    1 -
    0.17 * Math.cos((hBar - 30) * rad) +
    0.24 * Math.cos(2 * hBar * rad) +
    0.32 * Math.cos((3 * hBar + 6) * rad) -
    0.2 * Math.cos((4 * hBar - 63) * rad);
  const dTheta = 30 * Math.exp(-(((hBar - 275) / 25) ** 2));
  const rC = 2 * Math.sqrt(cBarP ** 7 / (cBarP ** 7 + 25 ** 7));
  const sL = 1 + (0.015 * (lBar - 50) ** 2) / Math.sqrt(20 + (lBar - 50) ** 2);
  const sC = 1 + 0.045 * cBarP;
  const sH = 1 + 0.015 * cBarP * t;
  const rT = -Math.sin(2 * dTheta * rad) * rC;
  return Math.sqrt((dL / sL) ** 2 + (dC / sC) ** 2 + (dH / sH) ** 2 + rT * (dC / sC) * (dH / sH));
}

test('CIEDE2000 agrees with the published test pairs (Sharma, Wu & Dalal 2005, table 1)', () => {
  const pairs: [Lab, Lab, number][] = [
    [[50, 2.6772, -79.7751], [50, 0, -82.7485], 2.0425],
    [[50, -1.3802, -84.2814], [50, 0, -82.7485], 1.0],
    [[50, 2.5, 0], [50, 3.2592, 0.335], 1.0],
    [[50, 2.5, 0], [56, -27, -3], 31.903],
    [[60.2574, -34.0099, 36.2677], [60.4626, -34.1751, 39.4387], 1.2644],
    [[22.7233, 20.0904, -46.694], [23.0331, 14.973, -42.5619], 2.0373],
  ];
  for (const [a, b, want] of pairs)
    assert.ok(Math.abs(deltaE2000(a, b) - want) < 1e-3, `${deltaE2000(a, b)} ≠ ${want}`);
});

/** Dichromat simulation matrices in linear RGB (Machado et al. 2009, severity 1.0). */
const DICHROMATS: Record<'protanopia' | 'deuteranopia' | 'tritanopia', number[][]> = {
  protanopia: [
    [0.152286, 1.052583, -0.204868],
    [0.114503, 0.786281, 0.099216],
    [-0.003882, -0.048116, 1.051998],
  ],
  deuteranopia: [
    [0.367322, 0.860646, -0.227968],
    [0.280085, 0.672501, 0.047413],
    [-0.01182, 0.04294, 0.968881],
  ],
  tritanopia: [
    [1.255528, -0.076749, -0.178779],
    [-0.078411, 0.930809, 0.147602],
    [0.004733, 0.691367, 0.3039],
  ],
};
const simulate = (rgb: Rgb, m: number[][]): Rgb =>
  m.map((row) => Math.min(1, Math.max(0, row[0] * rgb[0] + row[1] * rgb[1] + row[2] * rgb[2]))) as Rgb;

/** Any two palette colours at least this far apart (CIEDE2000 ≈ 2 is just noticeable side by side; lines need more). */
const MIN_DELTA_E = 9;
/** Two lines of the same dash, seen by a dichromat. */
const MIN_DELTA_E_DICHROMAT = 8;

const KINDS = Object.keys(CHART_PALETTES) as ThemeKind[];

test('every theme kind has a variant; every colour reads on its background (WCAG contrast)', () => {
  assert.deepEqual(KINDS.sort(), ['dark', 'high-contrast', 'high-contrast-light', 'light']);
  for (const kind of KINDS) {
    const { background, colors } = CHART_PALETTES[kind];
    for (const [name, hex] of Object.entries(colors)) {
      const ratio = contrast(hex, background);
      assert.ok(
        ratio >= MIN_CONTRAST[kind],
        `${kind}: ${name} ${hex} on ${background} has contrast ${ratio.toFixed(2)} < ${MIN_CONTRAST[kind]}`,
      );
    }
  }
});

test('every two palette colours are apart in every theme kind (CIEDE2000)', () => {
  for (const kind of KINDS) {
    const entries = Object.entries(CHART_PALETTES[kind].colors);
    for (let i = 0; i < entries.length; i++)
      for (let j = i + 1; j < entries.length; j++) {
        const d = deltaE2000(lab(linearRgb(entries[i][1])), lab(linearRgb(entries[j][1])));
        assert.ok(d >= MIN_DELTA_E, `${kind}: ${entries[i][0]} and ${entries[j][0]} are ΔE2000 ${d.toFixed(1)} apart`);
      }
  }
});

test("the paper's methods that share a dash stay apart by colour for colour-blind readers", () => {
  // docs/math.md §3.6: the seven methods of the paper's figure, and the exact gradient they are measured against
  const methods = ['exact', 'psa', 'dste', 'reinforce', 'arm', 'concrete(tau=1)', 'concrete(tau=0.1)', 'tanh'];
  const drawn = methods.map((key) => {
    const estimator = key.replace(/\(.*$/, '') as keyof typeof ESTIMATORS;
    return { key, color: estimatorStyle(key).color, dash: JSON.stringify(FAMILY_DASH[ESTIMATORS[estimator].family]) };
  });
  assert.ok(new Set(drawn.map((d) => d.dash)).size >= 3, 'the families differ by dash');
  for (const kind of KINDS) {
    const colors: Record<ChartColor, string> = CHART_PALETTES[kind].colors;
    for (const [vision, m] of Object.entries(DICHROMATS))
      for (let i = 0; i < drawn.length; i++)
        for (let j = i + 1; j < drawn.length; j++) {
          if (drawn[i].dash !== drawn[j].dash) continue;
          const [a, b] = [drawn[i], drawn[j]].map((d) => lab(simulate(linearRgb(colors[d.color]), m)));
          const d = deltaE2000(a, b);
          assert.ok(
            d >= MIN_DELTA_E_DICHROMAT,
            `${kind}, ${vision}: ${drawn[i].key} and ${drawn[j].key} (same dash) are ΔE2000 ${d.toFixed(1)} apart`,
          );
        }
  }
});

test("the heatmaps' colour map is sequential: its lightness rises from end to end, in steps one can see", () => {
  const lightness = (css: string) => {
    const m = /^rgb\((\d+), (\d+), (\d+)\)$/.exec(css);
    assert.ok(m, css);
    const hex = '#' + [m[1], m[2], m[3]].map((v) => Number(v).toString(16).padStart(2, '0')).join('');
    return lab(linearRgb(hex))[0];
  };
  const samples = Array.from({ length: 33 }, (_, i) => lightness(sequentialColor(i / 32)));
  for (let i = 1; i < samples.length; i++)
    assert.ok(samples[i] > samples[i - 1] + 1, `lightness falls or stalls at ${i}/32: ${samples.join(', ')}`);
  assert.ok(samples[32] - samples[0] > 60, 'from dark to light');
  assert.equal(sequentialColor(-1), sequentialColor(0));
  assert.equal(sequentialColor(2), sequentialColor(1));
  assert.equal(sequentialColor(0), 'rgb(68, 1, 84)');
  assert.equal(sequentialColor(1), 'rgb(253, 231, 37)');
  assert.equal(sequentialColor(NaN), sequentialColor(0));
  assert.equal(SEQUENTIAL_STOPS.length, 9);
});
