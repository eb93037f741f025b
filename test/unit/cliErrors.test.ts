// test-backends: one
// Input the user can fix gets exit code 2 and one line naming the file or flag (issue 13, "errors that are not
// internal"): run in-process through runCli, each case as a user would meet it.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseModelText, type ModelSpec } from '../../src/engine/spec';
import { estimateMemory, memoryProblem } from '../../src/engine/spec/memory';
import { invalidUtf8Offset } from '../../src/engine/files';
import { encodeIdx, parseCsvData, readIdxFolder } from '../../src/engine/data';
import { assertUsageError, runningRuns, sbnInProcess as sbn } from './helpers/cli';
import { repoRoot } from './helpers/fixtures';

/** The fs module itself (not the import's frozen namespace): the code under test sees what a test puts here. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const mutableFs = require('node:fs') as { accessSync: typeof fs.accessSync; writeSync: unknown };

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-errors-'));
const runs = path.join(tmp, 'runs');
const gradevalModel = path.join(repoRoot(), 'examples', 'toy2d-gradeval.sbn.json');

/** A model file as the tests change it: any value, valid or not, may be put in its sections. */
interface ModelDocument {
  name: string;
  input: { shape: number[] };
  layers: Record<string, unknown>[];
  output: Record<string, unknown>;
  data: Record<string, unknown>;
  train: Record<string, unknown>;
}

/** A small trainable model (toy-2d data, one epoch), changed by `edit`. */
function model(name: string, edit: (m: ModelDocument) => void = () => undefined): string {
  const m: ModelDocument = {
    name: 'm',
    input: { shape: [2] },
    layers: [{ type: 'dense', units: 4 }],
    output: { units: 1, loss: 'logistic' },
    data: { dataset: 'toy-2d', validation: 40 },
    train: { estimator: 'psa', lr: 0.03, batchSize: 20, epochs: 1, evalSamples: 2 },
  };
  edit(m);
  const file = path.join(tmp, name);
  fs.writeFileSync(file, JSON.stringify(m));
  return file;
}

function write(name: string, content: string | Buffer): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, content);
  return file;
}

/** A `sbn train` that must be refused before a run folder exists. */
async function refusedTrain(args: string[], ...patterns: RegExp[]): Promise<string> {
  const before = fs.existsSync(runs) ? fs.readdirSync(runs).length : 0;
  const line = assertUsageError(await sbn('train', ...args, '--out', runs, '--no-progress'), ...patterns);
  assert.equal(fs.existsSync(runs) ? fs.readdirSync(runs).length : 0, before, 'a run folder was created');
  return line;
}

const params = (layers: unknown) => write('params.json', JSON.stringify({ layers }));
const data = write(
  'data.json',
  JSON.stringify({
    X: [
      [0, 1],
      [1, 0],
    ],
    Y: [1, -1],
  }),
);

test('an unknown command is one line', async () => {
  assertUsageError(await sbn('trian'), /unknown command 'trian'/, /did you mean train/i);
});

test('counts on the command line are plain decimal integers', async () => {
  const ok = model('ok.sbn.json');
  for (const bad of ['1e3', '0x2', ' 2', '2.0', '-1', '']) {
    await refusedTrain(
      [ok, '--epochs', bad],
      /^sbn: --epochs: expected a positive whole number in decimal digits/,
      new RegExp(`"${bad.replace('.', '\\.')}"`),
    );
  }
  await refusedTrain([ok, '--seed', '0x10'], /^sbn: --seed: /);
  await refusedTrain([ok, '--lr', '0x1'], /^sbn: --lr: expected a positive number/);
  await refusedTrain([ok, '--epochs', '2000000'], /^sbn: --epochs: at most 1000000/);
  await refusedTrain([ok, '--samples', '1000000000'], /^sbn: --samples: at most 1024/);
  // an override is checked against the machine's memory like the model file's value, and named as the flag
  await refusedTrain(
    [ok, '--batch-size', '1000000000'],
    /^sbn: --batch-size: training this model needs about .* of memory .* more than this machine's/,
  );
});

test('model sizes beyond the machine or a checkpoint are refused before anything is allocated', async () => {
  for (const units of [1e9, 2 ** 53 + 1]) {
    const file = model(`units-${units}.sbn.json`, (m) => {
      m.layers = [{ type: 'dense', units }];
    });
    await refusedTrain(
      [file],
      /units-.*\.sbn\.json:1:\d+: layers\[0\]\.units: the model has .* parameters, more than the 1e\+8 a checkpoint can hold/,
    );
  }
  const wide = model('wide.sbn.json', (m) => {
    m.layers = [
      { type: 'dense', units: 1e5 },
      { type: 'dense', units: 1e5 },
    ];
  });
  await refusedTrain([wide], /wide\.sbn\.json:1:\d+: layers\[1\]\.units: /);
  const filters = model('filters.sbn.json', (m) => {
    m.input.shape = [1, 28, 28];
    m.layers = [
      { type: 'conv', filters: 1e6, kernel: 3 },
      { type: 'conv', filters: 1e6, kernel: 3 },
    ];
    m.data = { dataset: 'mnist' };
  });
  await refusedTrain([filters], /filters\.sbn\.json:1:\d+: layers\[1\]\.filters: /);
  // The same estimate, against a given memory, for the editor's diagnostics: the largest part names its field.
  const text = JSON.stringify({
    name: 'm',
    input: { shape: [784] },
    layers: [{ type: 'dense', units: 4000 }],
    output: { units: 10, loss: 'nll' },
    train: { estimator: 'psa', lr: 0.1, batchSize: 5000 },
  });
  const r = parseModelText(text, 'x.sbn.json', { availableMemory: 1e9 });
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0].path, 'train.batchSize');
    assert.match(r.errors[0].message, /needs about .* GB of memory .* more than this machine's 1\.0 GB/);
    assert.equal(r.errors[0].line, 1);
  }
  assert.equal(parseModelText(text, 'x.sbn.json', { availableMemory: 64e9 }).ok, true);
  const e = estimateMemory(JSON.parse(text.replace('"train"', '"t"').replace(/,"t":.*\}$/, '}')) as ModelSpec);
  assert.ok(e.parameters === 785 * 4000 + 4001 * 10 && e.bytes > e.parameterBytes);
  assert.equal(
    memoryProblem(
      {
        name: 'x',
        input: { shape: [2] },
        states: 'pm1',
        noise: 'logistic',
        layers: [{ type: 'dense', units: 4 }],
        output: { units: 1, loss: 'logistic' },
      },
      1e9,
    ),
    undefined,
  );
});

test('samples and evalSamples of 1e9, epochs of 1e300, 20 000 layers, a long name', async () => {
  await refusedTrain(
    [
      model('es.sbn.json', (m) => {
        m.train.evalSamples = 1e9;
      }),
    ],
    /train\.evalSamples: expected an integer ≥ 1 and ≤ 1024, got 1000000000/,
  );
  await refusedTrain(
    [
      model('s.sbn.json', (m) => {
        m.train.samples = 1e9;
      }),
    ],
    /train\.samples: expected an integer ≥ 1 and ≤ 1024/,
  );
  await refusedTrain(
    [
      model('ep.sbn.json', (m) => {
        m.train.epochs = 1e300;
      }),
    ],
    /train\.epochs: expected an integer ≥ 1 and ≤ 1000000, got 1e\+300/,
  );
  const started = Date.now();
  await refusedTrain(
    [
      model('deep.sbn.json', (m) => {
        m.layers = Array.from({ length: 20000 }, () => ({ type: 'dense', units: 2 }));
      }),
    ],
    /deep\.sbn\.json:1:\d+: layers: expected a non-empty array of at most 1000 items, got 20000 items/,
  );
  assert.ok(Date.now() - started < 20000, `20 000 layers took ${Date.now() - started} ms to refuse`);
  await refusedTrain(
    [
      model('name.sbn.json', (m) => {
        m.name = 'n'.repeat(201);
      }),
    ],
    /name\.sbn\.json:1:9: name: expected a non-empty string of at most 200 characters, got "nnn/,
  );
  await refusedTrain(
    [
      model('huge.sbn.json', (m) => {
        m.name = 'n'.repeat(20e6);
      }),
    ],
    /huge\.sbn\.json: the file has 20000\d+ bytes, more than the 1048576/,
  );
});

test('a model path that is a device, a folder or not UTF-8', async () => {
  await refusedTrain(['/dev/zero'], /^sbn: \/dev\/zero: expected a regular file, got a device/);
  await refusedTrain([tmp], /expected a file, got a folder/);
  const latin1 = write(
    'latin1.sbn.yaml',
    Buffer.concat([Buffer.from('name: m\ninput: {shape: [2]}\n# caf'), Buffer.from([0xe9]), Buffer.from('\n')]),
  );
  await refusedTrain([latin1], /latin1\.sbn\.yaml:3:6: invalid UTF-8 \(byte 0xe9 at byte offset 33\)/);
  assertUsageError(
    await sbn('grad', gradevalModel, '--params', '/dev/zero', '--data', data, '--estimator', 'psa'),
    /--params|\/dev\/zero: expected a regular file/,
  );
  assert.equal(invalidUtf8Offset(Buffer.from('añb€😀', 'utf8')), -1);
  assert.equal(invalidUtf8Offset(Buffer.from([0x61, 0xc0, 0x80])), 1); // overlong
  assert.equal(invalidUtf8Offset(Buffer.from([0xed, 0xa0, 0x80])), 0); // a surrogate
  assert.equal(invalidUtf8Offset(Buffer.from([0x61, 0xe2, 0x82])), 1); // truncated
});

test('--params and --data: syntax errors at a line and column, numbers as written', async () => {
  const broken = write('broken.json', '{\n  "layers": [\n    {"weight": [[1, 2]],}\n  ]\n}\n');
  assertUsageError(
    await sbn('grad', gradevalModel, '--params', broken, '--data', data, '--estimator', 'psa'),
    /broken\.json:3:25: invalid JSON/,
  );
  const truncated = write('truncated.json', '{"X": [[0, 1]');
  assertUsageError(
    await sbn('grad', gradevalModel, '--params', broken, '--data', truncated, '--estimator', 'psa'),
    /truncated\.json:1:14: invalid JSON \(Expected ',' or ']' after array element\)/,
  );
  const huge = write('huge.json', '{"X": [[0, 1], [1, 1e999]], "Y": [1, -1]}');
  const line = assertUsageError(
    await sbn('grad', gradevalModel, '--params', broken, '--data', huge, '--estimator', 'psa'),
    /huge\.json:1:20: the number 1e999 is too large/,
  );
  assert.doesNotMatch(line, /null/);
  const inString = write('string.json', '{"X": [[0, 1]], "Y": [1], "note": "1e999"}');
  assertUsageError(
    await sbn('grad', gradevalModel, '--params', broken, '--data', inString, '--estimator', 'psa'),
    /broken\.json:3:25/,
  );
  void params;
});

test('data files: an IDX file with 0 images, CSV values that are not decimal numbers', () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'idx-'));
  fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), encodeIdx([0, 28, 28], new Uint8Array(0)));
  fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), encodeIdx([0], new Uint8Array(0)));
  assert.throws(() => readIdxFolder(dir), /train-images-idx3-ubyte: the file holds 0 images/);
  for (const bad of ['0x1F', '0b11', 'Infinity', '1e999', '']) {
    assert.throws(
      () => parseCsvData(`a,b,y\n1,2,0\n3,${bad},1\n`, 'd.csv'),
      new RegExp(`d\\.csv line 3, column 2: "${bad}" is not a decimal number`),
    );
  }
  const ok = parseCsvData('1, 2.5 ,0\n-3,1e-2,1\n', 'd.csv');
  assert.deepEqual(Array.from(ok.train.x), [1, 2.5, -3, Math.fround(0.01)]);
});

test('--out that is a file, below a file, or on a read-only disk: refused before any work', async () => {
  const ok = model('ok.sbn.json');
  const file = write('a-file', 'x');
  assertUsageError(
    await sbn('train', ok, '--out', file, '--no-progress'),
    /^sbn: --out: .*a-file is a file, not a folder/,
  );
  assertUsageError(
    await sbn('train', ok, '--out', path.join(file, 'runs'), '--no-progress'),
    /^sbn: --out: .*a-file\/runs: a part of the path is a file, not a folder/,
  );
  const original = fs.accessSync;
  for (const code of ['EROFS', 'EACCES']) {
    mutableFs.accessSync = (p) => {
      throw Object.assign(new Error(`${code}: simulated, access '${String(p)}'`), { code, path: String(p) });
    };
    try {
      assertUsageError(
        await sbn('train', ok, '--out', path.join(tmp, 'ro', 'runs'), '--no-progress'),
        /^sbn: --out: /,
        code === 'EROFS' ? /read-only/ : /permission denied/,
        new RegExp(`\\(${code}\\)$`),
      );
    } finally {
      mutableFs.accessSync = original;
    }
  }
  assert.equal(fs.existsSync(path.join(tmp, 'ro')), false);
});

test('gradeval --out <folder> is refused before the draws are computed', async () => {
  const folder = fs.mkdtempSync(path.join(tmp, 'out-'));
  const started = Date.now();
  const r = await sbn(
    'gradeval',
    gradevalModel,
    '--params',
    path.join(tmp, 'no-params.json'),
    '--data',
    data,
    '--draws',
    '20000',
    '--out',
    folder,
  );
  assertUsageError(r, /^sbn: --out: .*out-\w+ is a folder; give a file name/);
  assert.ok(Date.now() - started < 5000);
  assert.doesNotMatch(r.stderr, /draws/);
});

test('a full disk while training: exit 2, the last checkpoint named and valid, the run resumable', async () => {
  const file = model('disk.sbn.json', (m) => {
    m.train.epochs = 3;
  });
  const root = path.join(tmp, 'disk-runs');
  const original = fs.writeSync;
  let checkpoints = 0;
  mutableFs.writeSync = (fd: number, buf: unknown, ...rest: unknown[]) => {
    // the second epoch's checkpoint does not fit: fail writes from the third checkpoint-sized write on
    if (Buffer.isBuffer(buf) && buf.toString('utf8', 0, 40).includes('sbn-checkpoint') && ++checkpoints > 2) {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    }
    return (original as (...a: unknown[]) => number)(fd, buf, ...rest);
  };
  let r;
  try {
    r = await sbn('train', file, '--out', root, '--no-progress');
  } finally {
    mutableFs.writeSync = original;
  }
  const [run] = fs.readdirSync(root);
  const last = assertUsageError(
    {
      ...r,
      stderr: r.stderr
        .split('\n')
        .filter((l) => l === '' || !/^sbn: (run |psa on |eval |step )/.test(l))
        .join('\n'),
    },
    /cannot write: no space left on the device \(ENOSPC\); the run's last checkpoint \(step \d+, epoch \d\.00\) stays valid/,
    new RegExp(`sbn train --resume .*${run}$`),
  );
  assert.ok(last);
  assert.deepEqual(runningRuns(root), []);
  const resumed = await sbn('train', '--resume', path.join(root, run), '--no-progress');
  assert.equal(resumed.code, 0, resumed.stderr);
});

test('resume and eval name the file: transposed tensors, a checkpoint without rng, a cut config.json', async () => {
  const file = model('small.sbn.json');
  const root = path.join(tmp, 'small-runs');
  const first = await sbn('train', file, '--out', root, '--no-progress');
  assert.equal(first.code, 0, first.stderr);
  const dir = path.join(root, fs.readdirSync(root)[0]);
  const cpFile = path.join(dir, 'checkpoint.json');
  const good = fs.readFileSync(cpFile, 'utf8');
  const cp = JSON.parse(good) as { params: Record<string, { shape: number[] }> };
  cp.params['dense1.weight'].shape = [...cp.params['dense1.weight'].shape].reverse();
  fs.writeFileSync(cpFile, JSON.stringify(cp));
  assertUsageError(
    await sbn('eval', dir),
    /checkpoint\.json: params\.dense1\.weight: expected shape \[4, 2\] for model m, got \[2, 4\]/,
  );
  assertUsageError(
    await sbn('train', '--resume', dir, '--epochs', '2', '--no-progress'),
    /checkpoint\.json: params\.dense1\.weight: expected shape \[4, 2\]/,
  );
  assert.deepEqual(runningRuns(root), []);
  // every checkpoint without its random generators (with one valid left, resume would use it and only warn)
  const checkpoints = [
    cpFile,
    ...fs.readdirSync(path.join(dir, 'checkpoints')).map((f) => path.join(dir, 'checkpoints', f)),
  ];
  const originals = checkpoints.map((f) => fs.readFileSync(f, 'utf8'));
  for (const [i, f] of checkpoints.entries()) {
    const noRng = JSON.parse(i === 0 ? good : originals[i]) as { rng?: unknown };
    delete noRng.rng;
    fs.writeFileSync(f, JSON.stringify(noRng));
  }
  assertUsageError(
    await sbn('train', '--resume', dir, '--epochs', '2', '--no-progress'),
    /checkpoint\.json: rng: the random generator states \(noise, eval\) are missing/,
  );
  assert.deepEqual(runningRuns(root), []);
  for (const [i, f] of checkpoints.entries()) fs.writeFileSync(f, i === 0 ? good : originals[i]);
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(config, fs.readFileSync(config, 'utf8').slice(0, 100));
  assertUsageError(
    await sbn('train', '--resume', dir, '--epochs', '2', '--no-progress'),
    /config\.json: the file is damaged, not valid JSON/,
  );
  assertUsageError(await sbn('eval', dir), /config\.json: the file is damaged/);
  assert.deepEqual(runningRuns(root), []);
});
