// The chart palette: the one authority for the colour of each chart colour name (estimators, series, layers, tags)
// and for the estimators' dash patterns, in every panel, the HTML reports and their PNG/SVG exports. Neutral (no
// Node, no vscode, no DOM): the webview's theme (webview/common/theme.ts) and the standalone reports (src/report/)
// share it.
//
// One variant per VS Code theme kind, built from Okabe & Ito's colour-blind-safe set (orange, sky blue, bluish green,
// yellow, blue, vermillion, reddish purple) and Paul Tol's "muted" set for the further names, each shifted in
// lightness so that on its theme's background every colour has a contrast ratio of at least 3:1 (4.5:1 in the
// high-contrast themes) and every two colours stay apart (CIEDE2000). Colour alone cannot separate sixteen methods for
// every reader: the families differ by dash as well (FAMILY_DASH). test/unit/chartPalette.test.ts checks all of it.
import type { ChartColor, EstimatorInfo } from './estimators';

/** VS Code's theme kinds (the webview body's class: vscode-light, vscode-dark, vscode-high-contrast, …). */
export type ThemeKind = 'light' | 'dark' | 'high-contrast' | 'high-contrast-light';

export interface ChartPalette {
  /** The editor background of the theme kind's default theme: what the colours are chosen against. */
  background: string;
  /** Each colour name; `foreground` is the default theme's text colour (the exact gradient's lines). */
  colors: Record<ChartColor, string>;
}

export const CHART_PALETTES: Record<ThemeKind, ChartPalette> = {
  dark: {
    background: '#1f1f1f',
    colors: {
      blue: '#3d8ef0',
      orange: '#e69f00',
      green: '#27b877',
      purple: '#c58af9',
      red: '#f0603c',
      yellow: '#f0e442',
      cyan: '#56d4f0',
      brown: '#b5773a',
      pink: '#ffa8d8',
      gray: '#8f8f8f',
      olive: '#a7ab3e',
      teal: '#2bb5a3',
      indigo: '#8f8fff',
      gold: '#ffcd6b',
      magenta: '#ff4fd8',
      salmon: '#ff9c8a',
      foreground: '#cccccc',
    },
  },
  light: {
    background: '#ffffff',
    colors: {
      blue: '#2a5cc4',
      orange: '#c25e00',
      green: '#117733',
      purple: '#8a3fb8',
      red: '#d62728',
      yellow: '#8c7a00',
      cyan: '#0a8fb0',
      brown: '#73440f',
      pink: '#c2418f',
      gray: '#767676',
      olive: '#687a1a',
      teal: '#00796b',
      indigo: '#3b3bbf',
      gold: '#a06a00',
      magenta: '#b0129a',
      salmon: '#cc6677',
      foreground: '#3b3b3b',
    },
  },
  'high-contrast': {
    background: '#000000',
    colors: {
      blue: '#6a9cff',
      orange: '#f0a800',
      green: '#33cc88',
      purple: '#cf9bff',
      red: '#ff6d4a',
      yellow: '#f5ea5a',
      cyan: '#66e0ff',
      brown: '#b87a3e',
      pink: '#ffb3de',
      gray: '#a3a3a3',
      olive: '#b8bc48',
      teal: '#33c4b1',
      indigo: '#a0a0ff',
      gold: '#ffd782',
      magenta: '#ff61e0',
      salmon: '#ffa898',
      foreground: '#ffffff',
    },
  },
  'high-contrast-light': {
    background: '#ffffff',
    colors: {
      blue: '#2450b0',
      orange: '#b35600',
      green: '#117733',
      purple: '#8a3fb8',
      red: '#cc2020',
      yellow: '#7a6a00',
      cyan: '#00809f',
      brown: '#73440f',
      pink: '#b8388a',
      gray: '#6b6b6b',
      olive: '#5e6e14',
      teal: '#00756a',
      indigo: '#4a2fa8',
      gold: '#966000',
      magenta: '#a3008f',
      salmon: '#bd5264',
      foreground: '#292929',
    },
  },
};

/** The least contrast ratio of every palette colour against its theme's background (WCAG 2 graphics: 3:1). */
export const MIN_CONTRAST: Record<ThemeKind, number> = {
  light: 3,
  dark: 3,
  'high-contrast': 4.5,
  'high-contrast-light': 4.5,
};

/**
 * The dash of each estimator family's lines (none: solid). Straight-through and path-sample-analytic lines are solid;
 * score-function estimators dash-dotted, relaxations dashed, moment propagation dotted: the families read apart even
 * where colours merge for a colour-blind reader (REINFORCE's orange and ST's red under deuteranopia).
 */
export const FAMILY_DASH: Partial<Record<EstimatorInfo['family'], number[]>> = {
  'score-function': [8, 3, 2, 3],
  relaxation: [6, 3],
  'moment-propagation': [2, 3],
};

/**
 * The heatmaps' colour map, the same in every theme: viridis (van der Walt & Smith, matplotlib's default), sequential
 * and perceptually uniform — lightness rises steadily from dark purple to yellow, so "more" reads the same on a light
 * and a dark background and in grey or to a colour-blind reader. Stops at 0, 1/8, …, 1.
 */
export const SEQUENTIAL_STOPS: readonly string[] = [
  '#440154',
  '#472c7a',
  '#3b528b',
  '#2c728e',
  '#21918c',
  '#28ae80',
  '#5ec962',
  '#addc30',
  '#fde725',
];

/** The colour map at `t` ∈ [0, 1] (clamped), as `rgb(r, g, b)`: linear between the stops. */
export function sequentialColor(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (SEQUENTIAL_STOPS.length - 1);
  const i = Math.min(SEQUENTIAL_STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const channels = (hex: string) => [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
  const [a, b] = [channels(SEQUENTIAL_STOPS[i]), channels(SEQUENTIAL_STOPS[i + 1])];
  return `rgb(${a.map((v, k) => Math.round(v + (b[k] - v) * f)).join(', ')})`;
}
