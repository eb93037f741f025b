// Downloads a built-in data set into a data-set store (store.ts): each file of its catalog entry goes to a hidden
// `.<name>.part` file beside its final place, resumes from there with an HTTP Range request when a previous try was
// cut off, is checked against the catalog's size and SHA-256, and only then is renamed into place (a .tar.gz is
// extracted into a temporary folder that is renamed as a whole). So the store only ever holds verified files, and
// running the command again continues where it stopped. No dependencies: node:http(s), node:zlib, node:crypto.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { createGunzip } from 'node:zlib';
import {
  DATA_MIRROR_ENV,
  DATASET_CATALOG,
  dataStoreDirs,
  isDatasetAt,
  datasetFilesDir,
  storeFolder,
  type CatalogFile,
  type DatasetCatalog,
  type StoredDatasetName,
} from './store';

export interface FetchProgress {
  dataset: StoredDatasetName;
  file: string;
  /** 1-based index of the file and the number of files. */
  index: number;
  files: number;
  /** Bytes of this file on disk so far (a resumed download starts above 0) and its size when the server said. */
  received: number;
  total?: number;
  phase: 'download' | 'verify' | 'extract';
}

export interface FetchOptions {
  /** The store to download into (default: the first of dataStoreDirs(), i.e. $SBN_DATA_DIR or the per-user store). */
  dir?: string;
  /** Base URL replacing the catalog's host (default $SBN_DATA_MIRROR); the file names are appended. */
  mirror?: string;
  onProgress?(p: FetchProgress): void;
  signal?: AbortSignal;
  /** Seconds without data before a transfer is given up (default 60). */
  idleTimeoutSeconds?: number;
  /** Replaces the catalog (tests serve small files with their own checksums). */
  catalog?: DatasetCatalog;
}

export interface FetchResult {
  /** The folder that now holds the data set's files. */
  dir: string;
  /** Files downloaded now, and those that were already there and verified. */
  downloaded: string[];
  present: string[];
}

/**
 * A download that failed: `url` and `reason` in one line. `folder` and `files` say what a person can copy by hand;
 * fetchErrorAdvice phrases the way out.
 */
export class FetchError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
    readonly folder: string,
    readonly files: string[],
    readonly cancelled = false,
  ) {
    super(`cannot download ${url}: ${reason}`);
  }
}

/** The error and what to do about it; `mirrorHow` is how this front end sets a mirror (a flag, a setting). */
export function fetchErrorAdvice(e: FetchError, mirrorHow: string): string {
  if (e.cancelled) return e.message;
  return (
    `${e.message}; run it again (an interrupted transfer resumes where it stopped), ` +
    `use another host with ${mirrorHow}, or copy ${e.files.join(', ')} into ${e.folder} by hand`
  );
}

const MAX_REDIRECTS = 5;

function urlFor(base: string, file: string): string {
  return base.endsWith('/') ? base + file : `${base}/${file}`;
}

function describeNetworkError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the host up, or are you offline?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found (are you offline?)';
    case 'ECONNRESET':
      return 'connection reset by the server';
    case 'ETIMEDOUT':
      return 'connection timed out';
    default:
      return e.message.split('\n')[0];
  }
}

/** GET `url` into `part` (appending from its current size when the server honours Range); resolves when complete. */
function download(
  url: string,
  part: string,
  onData: (received: number, total?: number) => void,
  idleMs: number,
  signal?: AbortSignal,
  redirects = 0,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let from = 0;
    try {
      from = fs.statSync(part).size;
    } catch {
      /* a fresh start */
    }
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      reject(new Error('not a valid URL'));
      return;
    }
    const get = target.protocol === 'https:' ? https.get : target.protocol === 'http:' ? http.get : undefined;
    if (!get) {
      reject(new Error(`unsupported protocol ${target.protocol} (http: or https:)`));
      return;
    }
    const req = get(target, { headers: from > 0 ? { Range: `bytes=${from}-` } : {}, signal }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) {
          reject(new Error(`more than ${MAX_REDIRECTS} redirects`));
          return;
        }
        download(new URL(res.headers.location, target).toString(), part, onData, idleMs, signal, redirects + 1).then(
          resolve,
          reject,
        );
        return;
      }
      if (status === 416 && from > 0) {
        // the part file is already whole (or longer than the file): let the checksum decide
        res.resume();
        resolve();
        return;
      }
      if (status !== 200 && status !== 206) {
        res.resume();
        reject(new Error(`HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`));
        return;
      }
      const append = status === 206;
      let received = append ? from : 0;
      const length = Number(res.headers['content-length']);
      const total = Number.isFinite(length) ? received + length : undefined;
      const out = fs.createWriteStream(part, { flags: append ? 'a' : 'w' });
      // on a failure the bytes received so far are still written out (the next run resumes from them)
      let error: Error | undefined;
      const fail = (e: Error) => {
        if (error) return;
        error = e;
        res.unpipe(out);
        out.end();
      };
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        onData(received, total);
      });
      res.on('error', (e) => fail(e.message === 'aborted' ? interrupted() : e));
      res.on('aborted', () => fail(interrupted()));
      const interrupted = () => new Error(`transfer interrupted after ${received}${total ? ` of ${total}` : ''} bytes`);
      out.on('error', (e) => {
        error ??= e;
        reject(error);
      });
      out.on('close', () => {
        if (error) reject(error);
        else if (total !== undefined && received < total) reject(interrupted());
        else resolve();
      });
      res.pipe(out);
    });
    req.setTimeout(idleMs, () =>
      req.destroy(Object.assign(new Error(`no data for ${Math.round(idleMs / 1000)} s`), { code: 'EIDLE' })),
    );
    req.on('error', (e: NodeJS.ErrnoException) =>
      reject(e.name === 'AbortError' ? e : new Error(describeNetworkError(e))),
    );
  });
}

function isGzipFile(file: string): boolean {
  const head = Buffer.alloc(2);
  const fd = fs.openSync(file, 'r');
  try {
    return fs.readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    fs.closeSync(fd);
  }
}

/** Size and SHA-256 of a file, or of its gunzipped content. */
async function digest(file: string, content: boolean): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  // a content check accepts the IDX file itself as well as any gzip of it (files copied by hand)
  const gzipped = content && isGzipFile(file);
  const input = fs.createReadStream(file);
  const stream = gzipped ? input.pipe(createGunzip()) : input;
  if (gzipped) input.on('error', (e) => stream.destroy(e));
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** Whether `file` matches its catalog entry; the reason when not. */
async function verify(file: string, entry: CatalogFile): Promise<string | undefined> {
  let got: { bytes: number; sha256: string };
  try {
    got = await digest(file, entry.check === 'content');
  } catch (e) {
    const reason = (e as Error).message.split('\n')[0];
    return `cannot be read as ${entry.check === 'content' ? 'gzip' : 'a file'} (${reason})`;
  }
  const what = entry.check === 'content' ? 'its content' : 'it';
  if (got.bytes !== entry.bytes) return `${what} has ${got.bytes} bytes, expected ${entry.bytes} (checksum mismatch)`;
  if (got.sha256 !== entry.sha256)
    return `checksum mismatch: SHA-256 of ${what} is ${got.sha256}, expected ${entry.sha256}`;
  return undefined;
}

/** Reads a NUL-terminated field of a tar header. */
function field(header: Buffer, start: number, length: number): string {
  const raw = header.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? length : end).toString('utf8');
}

/**
 * Extracts the regular files of a .tar.gz (ustar / GNU) into `dest`, streaming. Entries that would land outside
 * `dest` (absolute paths, `..`) are refused.
 */
async function extractTarGz(file: string, dest: string): Promise<void> {
  const input = fs.createReadStream(file);
  const gunzip = input.pipe(createGunzip());
  input.on('error', (e) => gunzip.destroy(e));
  let buf: Buffer = Buffer.alloc(0);
  let remaining = 0;
  let padding = 0;
  let fd: number | undefined;
  let done = false;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      if (done) continue;
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      for (;;) {
        if (remaining > 0) {
          const take = Math.min(remaining, buf.length);
          if (fd !== undefined) fs.writeSync(fd, buf, 0, take);
          buf = buf.subarray(take);
          remaining -= take;
          if (remaining > 0) break;
          if (fd !== undefined) {
            fs.closeSync(fd);
            fd = undefined;
          }
          continue;
        }
        if (padding > 0) {
          const take = Math.min(padding, buf.length);
          buf = buf.subarray(take);
          padding -= take;
          if (padding > 0) break;
          continue;
        }
        if (buf.length < 512) break;
        const header = buf.subarray(0, 512);
        buf = buf.subarray(512);
        if (header.every((b) => b === 0)) {
          done = true;
          break;
        }
        const prefix = field(header, 257, 6).startsWith('ustar') ? field(header, 345, 155) : '';
        const name = prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100);
        const size = parseInt(field(header, 124, 12).trim() || '0', 8);
        const type = String.fromCharCode(header[156] || 48);
        remaining = size;
        padding = (512 - (size % 512)) % 512;
        const target = path.resolve(dest, name);
        if (path.isAbsolute(name) || !(target === dest || target.startsWith(dest + path.sep))) {
          throw new Error(`archive entry ${name} lies outside the folder it is extracted into`);
        }
        if (type === '5') fs.mkdirSync(target, { recursive: true });
        else if (type === '0' || type === '7') {
          fs.mkdirSync(path.dirname(target), { recursive: true });
          fd = fs.openSync(target, 'w');
          if (size === 0) {
            fs.closeSync(fd);
            fd = undefined;
          }
        }
        // other entries (links, pax headers) carry no file we need: their data is skipped
      }
    }
    if (!done && (remaining > 0 || buf.length > 0)) throw new Error('the archive ends early (truncated)');
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Downloads `name` into the store (see the file comment). Files already in place and verified are kept. Throws a
 * FetchError naming the URL on a network failure, an HTTP error, or a checksum mismatch (the bad file is deleted).
 */
export async function fetchDataset(name: StoredDatasetName, options: FetchOptions = {}): Promise<FetchResult> {
  const catalog = options.catalog ?? DATASET_CATALOG;
  const entry = catalog[name];
  const store = path.resolve(options.dir ?? dataStoreDirs()[0]);
  const folder = storeFolder(store, name);
  const filesDir = datasetFilesDir(store, name);
  const base = options.mirror || process.env[DATA_MIRROR_ENV] || entry.baseUrl;
  const idleMs = 1000 * (options.idleTimeoutSeconds ?? 60);
  const result: FetchResult = { dir: filesDir, downloaded: [], present: [] };
  fs.mkdirSync(folder, { recursive: true });

  for (const [i, file] of entry.files.entries()) {
    const url = urlFor(base, file.name);
    const final = path.join(folder, file.name);
    const part = path.join(folder, `.${file.name}.part`);
    const fail = (reason: string, cancelled = false) =>
      new FetchError(
        url,
        reason,
        folder,
        entry.files.map((f) => f.name),
        cancelled,
      );
    const progress = (phase: FetchProgress['phase'], received: number, total?: number) =>
      options.onProgress?.({
        dataset: name,
        file: file.name,
        index: i + 1,
        files: entry.files.length,
        received,
        total,
        phase,
      });

    if (
      file.extract ? isDatasetAt(name, filesDir) : fs.existsSync(final) && (await verify(final, file)) === undefined
    ) {
      result.present.push(file.name);
      continue;
    }
    try {
      await download(url, part, (r, t) => progress('download', r, t), idleMs, options.signal);
    } catch (e) {
      if (options.signal?.aborted) throw fail('cancelled (run it again to resume)', true);
      throw fail((e as Error).message);
    }
    progress('verify', fs.statSync(part).size, file.bytes);
    const bad = await verify(part, file);
    if (bad) {
      fs.rmSync(part, { force: true });
      throw fail(bad);
    }
    if (file.extract) {
      progress('extract', file.bytes, file.bytes);
      const tmp = path.join(folder, `.extract-${process.pid}`);
      fs.rmSync(tmp, { recursive: true, force: true });
      try {
        await extractTarGz(part, tmp);
        const extracted = path.join(tmp, file.extract);
        if (!isDatasetAt(name, extracted)) throw new Error(`the archive has no complete ${file.extract}/ folder`);
        fs.rmSync(filesDir, { recursive: true, force: true });
        fs.renameSync(extracted, filesDir);
      } catch (e) {
        throw fail(`cannot extract it: ${(e as Error).message}`);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
      fs.rmSync(part, { force: true });
    } else {
      fs.renameSync(part, final);
    }
    result.downloaded.push(file.name);
  }
  return result;
}
