// Theme colours from VS Code's CSS variables (light fallbacks for a report opened outside VS Code).
import type { ChartColor } from '../../src/estimators';
import { CHART_COLORS_DARK, CHART_COLORS_LIGHT } from '../../src/chartPalette';

export type ColorName = ChartColor;

export interface Theme {
  kind: 'light' | 'dark' | 'high-contrast' | 'high-contrast-light';
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
  const fallback = document.body.classList.contains('report-offline') ? CHART_COLORS_LIGHT : CHART_COLORS_DARK;
  const pick = (name: ColorName) => cssVar(`--vscode-charts-${name}`) || fallback[name];
  const foreground = cssVar('--vscode-foreground') || (kind === 'light' ? '#3b3b3b' : CHART_COLORS_DARK.foreground);
  const muted = cssVar('--vscode-descriptionForeground') || withAlpha(foreground, 0.7);
  const border =
    (hc ? cssVar('--vscode-contrastBorder') : '') ||
    cssVar('--vscode-editorWidget-border') ||
    cssVar('--vscode-panel-border') ||
    withAlpha(foreground, 0.3);
  const fontFamily = cssVar('--vscode-font-family') || 'system-ui, sans-serif';
  return {
    kind,
    colors: {
      blue: pick('blue'),
      orange: pick('orange'),
      green: pick('green'),
      purple: pick('purple'),
      red: pick('red'),
      yellow: pick('yellow'),
      cyan: pick('cyan'),
      brown: pick('brown'),
      pink: pick('pink'),
      gray: pick('gray'),
      olive: pick('olive'),
      teal: pick('teal'),
      indigo: pick('indigo'),
      gold: pick('gold'),
      magenta: pick('magenta'),
      salmon: pick('salmon'),
      foreground: cssVar('--vscode-charts-foreground') || foreground,
    },
    foreground,
    muted,
    border,
    grid: withAlpha(foreground, hc ? 0.35 : kind === 'light' ? 0.1 : 0.12),
    background: cssVar('--vscode-editor-background') || (kind === 'light' ? '#ffffff' : '#1e1e1e'),
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
