// test-backends: one
// Fuzz of the CLI's entry points, in-process (runCli): arbitrary model files (valid-ish, broken, garbage, extreme
// numbers, wrong types), flags, and damaged run folders. Whatever the input: exit code 2 with exactly one line on
// stderr (or 0 where the input happens to be valid), never a stack trace or an internal error, and no run folder
// left `running`. Cases are kept cheap (tiny data, one epoch at most) so that thousands run in CI; the case count
// and the time are printed.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { errorLines, runningRuns, sbnInProcess as sbn, type CliRun } from './helpers/cli';
import { repoRoot } from './helpers/fixtures';

// Run folders fsync every file they write: in memory (/dev/shm on Linux) the fuzz keeps within its time.
const tmpRoot = process.platform === 'linux' && fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
const tmp = fs.mkdtempSync(path.join(tmpRoot, 'sbn-fuzz-'));
const runs = path.join(tmp, 'runs');
/** Cases per property; SBN_FUZZ_SCALE multiplies them (e.g. 0.1 for a quick local run), SBN_FUZZ_SEED varies them. */
const scale = Number(process.env.SBN_FUZZ_SCALE ?? 1);
const runsOf = (n: number) => Math.max(1, Math.round(n * scale));
const seed = Number(process.env.SBN_FUZZ_SEED ?? 1);

// Four examples of 2 features: a valid model trains on them in a few milliseconds.
fs.writeFileSync(
  path.join(tmp, 'tiny.json'),
  JSON.stringify({
    X: [
      [0, 1],
      [1, 0],
      [1, 1],
      [0, 0],
    ],
    Y: [1, -1, 1, -1],
  }),
);
fs.writeFileSync(path.join(tmp, 'tiny.csv'), 'a,b,y\n0,1,1\n1,0,-1\n1,1,1\n0,0,-1\n');
fs.writeFileSync(
  path.join(tmp, 'params.json'),
  JSON.stringify({
    layers: [
      {
        weight: [
          [0.1, -0.2],
          [0.3, 0.1],
        ],
        bias: [0, 0.1],
      },
      { weight: [[0.5, -0.5]], bias: [0] },
    ],
  }),
);

/**
 * Exit codes seen per property, printed with the time: a fuzz whose every case fails at the first flag tests
 * little.
 */
const tally = new Map<string, number>();
const tallied = () => [...tally].map(([k, n]) => `${k}: ${n}`).join(', ');

/** What every run must look like, whatever its input. */
function check(r: CliRun, what: string): void {
  const key = `exit ${r.code}`;
  tally.set(key, (tally.get(key) ?? 0) + 1);
  const context = `${what}\nexit ${r.code}\nstderr: ${r.stderr.slice(0, 2000)}`;
  assert.doesNotMatch(r.stderr, /\n\s+at |internal error/, `stack trace or internal error for ${context}`);
  if (r.code === 0) return;
  // A training that diverges is a result, not an input error: exit 1 with one line saying so.
  if (r.code === 1 && /diverged/.test(errorLines(r.stderr).at(-1) ?? '')) return;
  assert.equal(r.code, 2, `unexpected exit code for ${context}`);
  const lines = errorLines(r.stderr).filter((l) => !LOG_LINE.test(l));
  assert.equal(lines.length, 1, `expected one error line for ${context}`);
}
/** Progress a command logs before it fails later (a run that started, then hit a problem). */
const LOG_LINE = /^sbn: (run |resuming |[\w-]+ on .* examples\)|eval \w+ epoch|step \d+|lr trial )/;

// Values that are valid somewhere stay cheap there (no lr search, no wide layers, a few epochs): a case that happens
// to be valid trains on four examples in milliseconds.
const extreme = fc.oneof(
  fc.constantFrom(0, -1, 1, 2, 1.5, 1e9, 1e300, 2 ** 53 + 1, -0.5, 1025, 1e7),
  fc.constantFrom('', 'x', 'psa', '0x1F', ' 2', '1e3', 'dense', 'conv', 'flatten', 'pm1', '01', 'logistic', 'nll'),
  fc.constantFrom(null, true, false, [], {}, [1], [2], [1, 28, 28], { search: { trials: 0 } }),
  fc.integer({ min: -5, max: 6 }),
  fc.string({ maxLength: 8 }),
);

/** A model that trains on the tiny data set, as the base of mutations. */
function baseModel(): Record<string, unknown> {
  return {
    name: 'fuzz',
    input: { shape: [2] },
    states: 'pm1',
    layers: [{ type: 'dense', units: 2 }],
    output: { units: 1, loss: 'logistic' },
    data: { dataset: 'file', path: 'tiny.json' },
    train: { estimator: 'psa', lr: 0.01, batchSize: 4, epochs: 1, evalSamples: 1, init: 'default' },
  };
}

const PATHS: string[][] = [
  ['name'],
  ['input'],
  ['input', 'shape'],
  ['states'],
  ['noise'],
  ['layers'],
  ['layers', '0'],
  ['layers', '0', 'units'],
  ['layers', '0', 'type'],
  ['layers', '0', 'filters'],
  ['layers', '0', 'kernel'],
  ['layers', '1'],
  ['output'],
  ['output', 'units'],
  ['output', 'loss'],
  ['data'],
  ['data', 'dataset'],
  ['data', 'path'],
  ['data', 'validation'],
  ['data', 'limit'],
  ['train'],
  ['train', 'estimator'],
  ['train', 'lr'],
  ['train', 'batchSize'],
  ['train', 'epochs'],
  ['train', 'samples'],
  ['train', 'evalSamples'],
  ['train', 'seed'],
  ['train', 'tau'],
  ['train', 'baseline'],
  ['train', 'optimizer'],
  ['train', 'clip'],
  ['train', 'logInterval'],
  ['extra'],
];

function setPath(obj: Record<string, unknown>, keys: string[], value: unknown): void {
  // arrays too are indexed by their keys as strings here
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    if (cur[k] === null || typeof cur[k] !== 'object') cur[k] = /^\d+$/.test(k) ? [] : {};
    cur = cur[k] as Record<string, unknown>;
  }
  const last = keys[keys.length - 1];
  if (value === undefined) delete cur[last];
  else cur[last] = value;
}

/**
 * Model file text: a mutated valid model as JSON or YAML-flow, sometimes cut short, with bytes inserted, or
 * garbage.
 */
const modelFile = fc
  .record({
    mutations: fc.oneof(
      { arbitrary: fc.constant([] as Array<[string[], unknown]>), weight: 1 },
      {
        arbitrary: fc.array(fc.tuple(fc.constantFrom(...PATHS), fc.option(extreme, { nil: undefined })), {
          minLength: 1,
          maxLength: 3,
        }),
        weight: 5,
      },
    ),
    format: fc.constantFrom('json', 'yaml'),
    damage: fc.oneof(
      { arbitrary: fc.constant({ kind: 'none' as const }), weight: 3 },
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({
        kind: fc.constant('bytes' as const),
        at: fc.nat(),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }),
      }),
      fc.record({
        kind: fc.constant('raw' as const),
        text: fc.constantFrom(
          '1e999',
          'NaN',
          '-Infinity',
          '9007199254740993',
          '"\\ud800"',
          '{',
          '[]',
          '- a\n- b',
          '&a [*a]',
        ),
      }),
      fc.record({ kind: fc.constant('garbage' as const), text: fc.string({ maxLength: 40 }) }),
    ),
  })
  .map(({ mutations, format, damage }) => {
    const m = baseModel();
    for (const [keys, value] of mutations) setPath(m, keys, value);
    let text = JSON.stringify(m, null, format === 'json' ? 1 : undefined);
    if (damage.kind === 'raw') text = text.replace(/"units":\s*2/, `"units": ${damage.text}`);
    if (damage.kind === 'garbage') text = damage.text;
    let bytes = Buffer.from(text, 'utf8');
    if (damage.kind === 'cut') bytes = bytes.subarray(0, damage.at % (bytes.length + 1));
    if (damage.kind === 'bytes') {
      const at = damage.at % (bytes.length + 1);
      bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(damage.bytes), bytes.subarray(at)]);
    }
    return { format, bytes };
  });

/** A flag that is mostly absent (so that a case is not always refused at its first flag), else one of `values`. */
const flag = (name: string, values: string[]) =>
  fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 5 },
    { arbitrary: fc.constantFrom(...values).map((v) => [name, v]), weight: 1 },
  );
const trainFlags = fc
  .tuple(
    flag('--epochs', ['1', '0', '1e3', '0x2', ' 2', '-1', 'abc', '99999999999999999999', '1000001']),
    flag('--batch-size', ['2', '0', '1.5', '1e9', 'x']),
    flag('--samples', ['1', '2', '0', '1e9', '1025']),
    flag('--lr', ['0.01', '0', '-1', '0x1', 'Infinity', '1e999', 'nan']),
    flag('--seed', ['1', '-1', '4294967296', '0x10', 'a']),
    flag('--estimator', ['psa', 'dste', 'exact', 'magic', '']),
    flag('--backend', ['quantum', '']),
    flag('--frobnicate', ['1']),
  )
  .map((flags) => flags.filter((f): f is string[] => f !== undefined).flat());

let counter = 0;

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('fuzz: model files and flags for sbn train', async () => {
  const started = Date.now();
  let cases = 0;
  await fc.assert(
    fc.asyncProperty(modelFile, trainFlags, async ({ format, bytes }, flags) => {
      cases++;
      const file = path.join(tmp, `m${counter++}.sbn.${format}`);
      fs.writeFileSync(file, bytes);
      const r = await sbn('train', file, ...flags, '--out', runs, '--no-progress');
      check(r, `sbn train ${file} ${flags.join(' ')}\n${bytes.toString('utf8').slice(0, 500)}`);
      assert.deepEqual(runningRuns(runs), [], `a run left running by ${file}`);
      fs.rmSync(file);
    }),
    { numRuns: runsOf(5000), seed, includeErrorInReport: true },
  );
  process.stderr.write(
    `fuzz train: ${cases} cases in ${((Date.now() - started) / 1000).toFixed(1)} s (${tallied()})\n`,
  );
  tally.clear();
});

test('fuzz: model files, params and data for sbn grad', async () => {
  const started = Date.now();
  let cases = 0;
  const jsonText = (valid: string) =>
    fc.oneof(
      { arbitrary: fc.constant(fs.readFileSync(path.join(tmp, valid), 'utf8')), weight: 6 },
      fc.json({ maxDepth: 3 }),
      fc.string({ maxLength: 30 }),
      fc.constantFrom(
        '{"X": [[1e999, 0]], "Y": [1]}',
        '{"layers": [{"weight": [[1e999]]}]}',
        '{"X": [[0, 1]], "Y": [2]}',
        '{"X": [], "Y": []}',
        '{"layers": null}',
      ),
    );
  await fc.assert(
    fc.asyncProperty(
      modelFile,
      jsonText('params.json'),
      jsonText('tiny.json'),
      fc.constantFrom('psa', 'exact', 'reinforce', 'dste', 'x'),
      fc.constantFrom('1', '2', '1', '0', '0x1'),
      async ({ format, bytes }, params, data, estimator, draws) => {
        cases++;
        const n = counter++;
        const file = path.join(tmp, `g${n}.sbn.${format}`);
        fs.writeFileSync(file, bytes);
        fs.writeFileSync(path.join(tmp, `p${n}.json`), params);
        fs.writeFileSync(path.join(tmp, `d${n}.json`), data);
        const r = await sbn(
          'grad',
          file,
          '--params',
          path.join(tmp, `p${n}.json`),
          '--data',
          path.join(tmp, `d${n}.json`),
          '--estimator',
          estimator,
          '--draws',
          draws,
        );
        check(
          r,
          `sbn grad ${file}\nparams ${params.slice(0, 200)}\ndata ${data.slice(0, 200)}\n` +
            bytes.toString('utf8').slice(0, 300),
        );
        for (const f of [file, path.join(tmp, `p${n}.json`), path.join(tmp, `d${n}.json`)]) fs.rmSync(f);
      },
    ),
    { numRuns: runsOf(4500), seed, includeErrorInReport: true },
  );
  process.stderr.write(`fuzz grad: ${cases} cases in ${((Date.now() - started) / 1000).toFixed(1)} s (${tallied()})\n`);
  tally.clear();
});

test('fuzz: damaged run folders for sbn eval and sbn train --resume', async () => {
  const model = path.join(tmp, 'run.sbn.json');
  fs.writeFileSync(model, JSON.stringify(baseModel()));
  const origin = path.join(tmp, 'origin');
  const first = await sbn('train', model, '--out', origin, '--no-progress');
  assert.equal(first.code, 0, first.stderr);
  const run = path.join(origin, fs.readdirSync(origin)[0]);
  const files = [
    'run.json',
    'config.json',
    'status.json',
    'checkpoint.json',
    'metrics.jsonl',
    'summary.json',
    'environment.json',
    path.join('checkpoints', 'epoch-0001.json'),
  ];
  const damage = fc.record({
    file: fc.constantFrom(...files),
    kind: fc.constantFrom('delete', 'cut', 'garbage', 'field', 'empty'),
    at: fc.nat(),
    key: fc.constantFrom(
      'format',
      'version',
      'step',
      'epoch',
      'params',
      'rng',
      'data',
      'optimizer',
      'train',
      'model',
      'status',
      'name',
    ),
    value: fc.option(extreme, { nil: undefined }),
    text: fc.string({ maxLength: 20 }),
  });
  const started = Date.now();
  let cases = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(damage, { minLength: 1, maxLength: 2 }),
      fc.constantFrom('eval', 'eval', 'resume'),
      fc.constantFrom('1', '2'),
      async (damages, command, epochs) => {
        cases++;
        const dir = path.join(tmp, 'damaged', String(counter++));
        fs.cpSync(run, dir, { recursive: true });
        for (const d of damages) {
          const file = path.join(dir, d.file);
          if (d.kind === 'delete') fs.rmSync(file, { force: true });
          else if (d.kind === 'empty') fs.writeFileSync(file, '');
          else if (d.kind === 'garbage') fs.writeFileSync(file, d.text);
          else if (fs.existsSync(file)) {
            const text = fs.readFileSync(file, 'utf8');
            if (d.kind === 'cut') fs.writeFileSync(file, text.slice(0, d.at % (text.length + 1)));
            else {
              try {
                const o = JSON.parse(text) as unknown;
                if (o && typeof o === 'object') (o as Record<string, unknown>)[d.key] = d.value;
                fs.writeFileSync(file, JSON.stringify(o));
              } catch {
                /* metrics.jsonl: not one JSON value; left as it is */
              }
            }
          }
        }
        const r =
          command === 'eval'
            ? await sbn('eval', dir, '--samples', '1')
            : await sbn('train', '--resume', dir, '--epochs', epochs, '--no-progress');
        check(r, `${command} of ${dir} damaged by ${JSON.stringify(damages)}`);
        assert.deepEqual(runningRuns(path.dirname(dir)), [], `${dir} left running`);
        fs.rmSync(dir, { recursive: true, force: true });
      },
    ),
    { numRuns: runsOf(500), seed, includeErrorInReport: true },
  );
  process.stderr.write(
    `fuzz run folders: ${cases} cases in ${((Date.now() - started) / 1000).toFixed(1)} s (${tallied()})\n`,
  );
  tally.clear();
});

void repoRoot;
