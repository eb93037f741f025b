// Theme colours: the series' colours from the chart palette's variant for VS Code's theme kind (src/chartPalette.ts,
// the one authority; a report opened outside VS Code is light), text, grid and background from VS Code's CSS
// variables (the palette's where there are none).
import type { ChartColor } from '../../src/estimators';
import { CHART_PALETTES, type ThemeKind } from '../../src/chartPalette';

export type ColorName = ChartColor;

export interface Theme {
  kind: ThemeKind;
  colors: Record<ColorName, string>;
  foreground: string;
  muted: string;
  grid: string;
  border: string;
  background: string;
  font: string;
  fontFamily: string;
}

function cssVar(name: string): string {
  return (
    getComputedStyle(document.documentElement).getPropertyValue(name).trim() ||
    getComputedStyle(document.body).getPropertyValue(name).trim()
  );
}

const probe = document.createElement('canvas').getContext('2d');

/** A colour with alpha `a`, whatever CSS colour syntax VS Code gave us. */
export function withAlpha(color: string, a: number): string {
  if (!probe) return color;
  probe.fillStyle = '#000';
  probe.fillStyle = color;
  const c = String(probe.fillStyle);
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(c);
  if (hex) return `rgba(${parseInt(hex[1], 16)}, ${parseInt(hex[2], 16)}, ${parseInt(hex[3], 16)}, ${a})`;
  const rgba = /^rgba?\(([^,]+),([^,]+),([^,)]+)/.exec(c);
  if (rgba) return `rgba(${rgba[1].trim()}, ${rgba[2].trim()}, ${rgba[3].trim()}, ${a})`;
  return c;
}

export function readTheme(): Theme {
  const cls = document.body.classList;
  const kind: Theme['kind'] = cls.contains('vscode-high-contrast-light')
    ? 'high-contrast-light'
    : cls.contains('vscode-high-contrast')
      ? 'high-contrast'
      : cls.contains('vscode-light')
        ? 'light'
        : 'dark';
  const hc = kind.startsWith('high-contrast');
  const palette = CHART_PALETTES[kind];
  const foreground = cssVar('--vscode-foreground') || palette.colors.foreground;
  const muted = cssVar('--vscode-descriptionForeground') || withAlpha(foreground, 0.7);
  const border =
    (hc ? cssVar('--vscode-contrastBorder') : '') ||
    cssVar('--vscode-editorWidget-border') ||
    cssVar('--vscode-panel-border') ||
    withAlpha(foreground, 0.3);
  const fontFamily = cssVar('--vscode-font-family') || 'system-ui, sans-serif';
  return {
    kind,
    // the theme's own text colour for `foreground` (exact's lines): a custom theme's text reads on its background
    colors: { ...palette.colors, foreground: cssVar('--vscode-charts-foreground') || foreground },
    foreground,
    muted,
    border,
    grid: withAlpha(foreground, hc ? 0.35 : kind === 'light' ? 0.1 : 0.12),
    background: cssVar('--vscode-editor-background') || palette.background,
    font: `11px ${fontFamily}`,
    fontFamily,
  };
}

/** Calls `fn` when VS Code switches the colour theme (it changes the body's class and the CSS variables). */
export function onThemeChange(fn: () => void): void {
  let last = document.body.className;
  new MutationObserver(() => {
    if (document.body.className === last) return;
    last = document.body.className;
    fn();
  }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
}
