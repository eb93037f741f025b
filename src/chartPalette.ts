// The chart palette: the colour of each chart colour name where VS Code gives none (its --vscode-charts-* variables
// cover six), on a dark and on a light background. Neutral (no Node, no vscode, no DOM): the webview's theme
// (webview/common/theme.ts) and the standalone reports (src/report/) share it.
import type { ChartColor } from './estimators';

// VS Code's chart palette has six colours; cyan, brown, pink, gray, olive, teal, indigo, gold, magenta and salmon (for
// the up to 16 methods of a report) are ours, chosen to read on light and dark backgrounds.
export const CHART_COLORS_DARK: Record<ChartColor, string> = {
  blue: '#3794ff',
  orange: '#d18616',
  green: '#89d185',
  purple: '#b180d7',
  red: '#f14c4c',
  yellow: '#cca700',
  cyan: '#17becf',
  brown: '#a0522d',
  pink: '#e377c2',
  gray: '#8c8c8c',
  olive: '#b5b35c',
  teal: '#4db6ac',
  indigo: '#8c9eff',
  gold: '#ffcf40',
  magenta: '#ff6ec7',
  salmon: '#fa8072',
  foreground: '#cccccc',
};
/** The same colours for a light background: a report opened outside VS Code, the sweep report's SVG charts. */
export const CHART_COLORS_LIGHT: Record<ChartColor, string> = {
  blue: '#1f77b4',
  orange: '#ff7f0e',
  green: '#2ca02c',
  purple: '#9467bd',
  red: '#d62728',
  yellow: '#bcbd22',
  cyan: '#17becf',
  brown: '#8c564b',
  pink: '#e377c2',
  gray: '#7f7f7f',
  olive: '#808000',
  teal: '#00897b',
  indigo: '#3949ab',
  gold: '#b8860b',
  magenta: '#ad1457',
  salmon: '#e9967a',
  foreground: '#333333',
};
