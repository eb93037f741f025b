// Durable file writes: nothing a crash interrupts may leave a half-written file behind.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Temporary files of writeFileAtomic are named `.<target name>.<pid>.tmp` beside the target. */
export const ATOMIC_TEMP_PATTERN = /^\..+\.\d+\.tmp$/;

/**
 * Write to a temporary file beside the target, flush it, then rename over the target (atomic on POSIX and on
 * Windows' NTFS), then flush the folder so the rename itself survives a power cut. A failed write removes the
 * temporary file; a crash may leave one behind (`.<name>.<pid>.tmp`), which readers ignore.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let off = 0;
      while (off < buf.byteLength) off += fs.writeSync(fd, buf, off, buf.byteLength - off);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* already renamed or never created */
    }
    throw e;
  }
  fsyncDir(path.dirname(file));
}

/** Flush a folder's entries (new, renamed, removed files) to disk. A no-op where folders cannot be opened (Windows). */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    /* Windows (EISDIR/EPERM) and some network file systems: nothing more we can do */
  } finally {
    if (fd !== undefined)
      try {
        fs.closeSync(fd);
      } catch {
        /* ignore */
      }
  }
}

/** A text file that cannot be read as one: not a regular file, too large, or not UTF-8. The message names the file. */
export class TextFileError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}:${column}`}: ${problem}`);
  }
}

/** 1-based line and column (in characters) of a byte offset of UTF-8 text. */
function bytePosition(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++)
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  const column = Buffer.from(bytes.subarray(lineStart, offset)).toString('utf8').length + 1;
  return { line, column };
}

/** Offset of the first byte that is not part of well-formed UTF-8, or −1 (RFC 3629: no overlongs, no surrogates). */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) {
      n = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      min = 0x10000;
    } else return i;
    let cp = b & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

/**
 * Reads a UTF-8 text file the user named, checking first that it is a regular file (not a folder, a device such as
 * /dev/zero, or a pipe) of at most `maxBytes`, and then that its bytes are UTF-8 (an invalid byte is named by line,
 * column and byte offset). A leading byte-order mark is dropped. Throws a TextFileError.
 */
export function readTextFile(file: string, maxBytes: number): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TextFileError(
      file,
      code === 'ENOENT' ? 'file not found' : `cannot read the file (${code ?? (e as Error).message})`,
    );
  }
  if (st.isDirectory()) throw new TextFileError(file, 'expected a file, got a folder');
  if (!st.isFile()) throw new TextFileError(file, 'expected a regular file, got a device, pipe or socket');
  if (st.size > maxBytes)
    throw new TextFileError(
      file,
      `the file has ${st.size} bytes, more than the ${maxBytes} this reader accepts; is it the right file?`,
    );
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TextFileError(file, `cannot read the file (${code ?? (e as Error).message})`);
  }
  const bad = invalidUtf8Offset(bytes);
  if (bad >= 0) {
    const { line, column } = bytePosition(bytes, bad);
    throw new TextFileError(
      file,
      `invalid UTF-8 (byte 0x${bytes[bad].toString(16).padStart(2, '0')} at byte offset ${bad}); ` +
        'save the file as UTF-8',
      line,
      column,
    );
  }
  return bytes.toString('utf8').replace(/^\uFEFF/, '');
}
