// Offsets in the text ↔ the editor's 0-based positions.
import type { Span } from '../../../engine/spec/sourceMap';
import type { Position, Range } from './types';

/** Offsets ↔ 0-based positions; \n, \r\n and \r end a line (as the parser counts). Positions are clamped. */
export class LineMap {
  private readonly starts: number[] = [0];
  private readonly ends: number[] = [];

  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10 || c === 13) {
        this.ends.push(i);
        if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
        this.starts.push(i + 1);
      }
    }
    this.ends.push(text.length);
  }

  get lineCount(): number {
    return this.starts.length;
  }

  lineLength(line: number): number {
    return this.ends[line] - this.starts[line];
  }

  /** The line's text without its line break. */
  lineText(line: number): string {
    return this.text.slice(this.starts[line], this.ends[line]);
  }

  position(offset: number): Position {
    const o = Math.max(0, Math.min(Number.isFinite(offset) ? offset : 0, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: Math.min(o - this.starts[lo], this.lineLength(lo)) };
  }

  offset(p: Position): number {
    const line = Math.max(0, Math.min(p.line, this.starts.length - 1));
    return this.starts[line] + Math.max(0, Math.min(p.character, this.lineLength(line)));
  }

  range(span: Span): Range {
    const start = this.position(span.start);
    const end = this.position(Math.max(span.start, span.end));
    return { start, end };
  }
}
