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
    try { fs.unlinkSync(tmp); } catch { /* already renamed or never created */ }
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
    if (fd !== undefined) try { fs.closeSync(fd); } catch { /* ignore */ }
  }
}
