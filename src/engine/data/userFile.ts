// The `file` data set: features and labels from a .json or .csv file, or a folder of IDX files.
//   .json  {"X": [[…], …], "Y": […]} with optional "Xtest"/"Ytest" (the shape of the paper's toy-set file)
//   .csv   one example per line, the last column the label, the others features; a header row is optional
// Every problem is one line naming the file and, for CSV, the line number.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readTextFile, TextFileError } from '../files';
import { readIdxFolder } from './idxFolder';
import { DataError, RawData, RawSplit } from './types';

/** A CSV value: a decimal number (not 0x1F, 0b1, Infinity or an empty field). */
const DECIMAL_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The largest .json or .csv data file read: its text must fit in one JavaScript string. */
const MAX_DATA_FILE_BYTES = 500 << 20;

function fail(message: string): never {
  throw new DataError('data.path', message);
}

function matrix(value: unknown, key: string, file: string): { x: Float32Array; n: number; d: number } {
  if (!Array.isArray(value) || value.length === 0) fail(`${file}: "${key}" must be a non-empty array of rows`);
  const d = Array.isArray(value[0]) ? value[0].length : 0;
  if (d === 0) fail(`${file}: ${key}[0] must be a non-empty array of numbers`);
  const x = new Float32Array(value.length * d);
  value.forEach((row: unknown, i: number) => {
    if (!Array.isArray(row) || row.length !== d)
      fail(`${file}: ${key}[${i}] must be an array of ${d} numbers (as ${key}[0])`);
    row.forEach((v: unknown, j: number) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${file}: ${key}[${i}][${j}] is not a finite number`);
      x[i * d + j] = v;
    });
  });
  return { x, n: value.length, d };
}

function vector(value: unknown, key: string, n: number, file: string): Float32Array {
  if (!Array.isArray(value) || value.length !== n)
    fail(`${file}: "${key}" must be an array of ${n} labels (one per row)`);
  return Float32Array.from(value, (v: unknown, i: number) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${file}: ${key}[${i}] is not a finite number`);
    return v;
  });
}

export function parseJsonData(text: string, file: string): RawData {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    fail(`${file}: invalid JSON (${(e as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || !('X' in doc) || !('Y' in doc))
    fail(`${file}: expected an object with "X" and "Y"`);
  const X = matrix(doc.X, 'X', file);
  const train: RawSplit = { x: X.x, y: vector(doc.Y, 'Y', X.n, file), n: X.n };
  let test: RawSplit | undefined;
  if ('Xtest' in doc || 'Ytest' in doc) {
    const T = matrix(doc.Xtest, 'Xtest', file);
    if (T.d !== X.d) fail(`${file}: Xtest rows have ${T.d} features, X rows ${X.d}`);
    test = { x: T.x, y: vector(doc.Ytest, 'Ytest', T.n, file), n: T.n };
  }
  return { shape: [X.d], train, test, source: `file ${file}` };
}

export function parseCsvData(text: string, file: string): RawData {
  const lines = text.split(/\r?\n/);
  const first = lines.find((l) => l.trim() !== '') ?? fail(`${file}: no data rows`);
  const sep = first.includes(',') ? ',' : first.includes('\t') ? '\t' : ';';
  const isNumber = (s: string) => DECIMAL_NUMBER.test(s.trim()) && Number.isFinite(Number(s));
  const values: number[] = [];
  let columns = 0;
  let headerSeen = false;
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const fields = line.split(sep);
    // A first row with any non-number is a header; later rows must be all numbers.
    if (columns === 0 && !headerSeen && !fields.every(isNumber)) {
      headerSeen = true;
      return;
    }
    if (columns === 0) {
      columns = fields.length;
      if (columns < 2) fail(`${file} line ${i + 1}: need at least 2 columns (features…, label)`);
    }
    if (fields.length !== columns) fail(`${file} line ${i + 1}: ${fields.length} columns, expected ${columns}`);
    fields.forEach((f, j) => {
      if (!isNumber(f))
        fail(`${file} line ${i + 1}, column ${j + 1}: "${f.trim()}" is not a decimal number (such as 3, -0.5 or 1e-3)`);
      values.push(Number(f));
    });
  });
  if (columns === 0) fail(`${file}: no data rows`);
  const n = values.length / columns;
  const d = columns - 1;
  const x = new Float32Array(n * d);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) x[i * d + j] = values[i * columns + j];
    y[i] = values[i * columns + d];
  }
  return { shape: [d], train: { x, y, n }, source: `file ${file}` };
}

/** A .json or .csv file, or a folder of IDX files; `file` is already resolved. */
export function readUserFile(file: string): RawData {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    fail(`data.path ${file} does not exist`);
  }
  if (stat.isDirectory()) return readIdxFolder(file, `file ${file}`);
  let text: string;
  try {
    text = readTextFile(file, MAX_DATA_FILE_BYTES);
  } catch (e) {
    if (e instanceof TextFileError) fail(`data.path ${e.message}`);
    throw e;
  }
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') return parseJsonData(text, file);
  if (ext === '.csv') return parseCsvData(text, file);
  fail(`data.path ${file}: expected a .json or .csv file or a folder of IDX files, got "${ext || 'no extension'}"`);
}
