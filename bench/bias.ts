// PSA's and DSTE's per-layer bias on real networks where enumeration is impossible (docs/results.md, "Bias on real
// networks"): against the local-expectation reference (docs/math.md §3.8) with its standard error, at initialisation
// and after a short training. Usage: node dist/bench/bias.js [model files…] [--steps N] [--rows N] [--draws N]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../src/engine/backend';
import { loadModelFile } from '../src/engine/spec/parse';
import { buildRunConfig, loadRunData } from '../src/engine/train/session';
import { initialNetwork, train } from '../src/engine/train/trainer';
import { diagnosticsBatch } from '../src/engine/train/monitor';
import { compareEstimators } from '../src/engine/gradients/diagnostics';
import { disposeNetwork, loadTensorMap } from '../src/engine/model/network';
import { RunStore } from '../src/engine/runs';
import { repoRoot } from './common';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const backend = await initBackend();
  const files = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
  const models = files.length ? files : ['mnist-mlp-psa.sbn.yaml', 'fashion-conv-psa.sbn.yaml'];
  const steps = flag('--steps', 300);
  const rows = flag('--rows', 16);
  const draws = flag('--draws', 100);
  const budget = flag('--budget', 600);
  console.log(`backend ${backend.name}; ${rows} examples, ${draws} draws per estimator, reference target 0.05`);
  for (const file of models) {
    const full = fs.existsSync(file) ? file : path.join(repoRoot, 'examples', file);
    const parsed = loadModelFile(full);
    if (!parsed.ok) throw new Error(`${full}: ${parsed.errors[0].message}`);
    const config = buildRunConfig(parsed.model, full);
    const data = loadRunData(config, full);
    const batch = diagnosticsBatch(data.train.x, data.train.y, data.train.n, rows);
    const net = initialNetwork(config.model, config.train, data);
    const measure = (when: string): void => {
      const r = compareEstimators(net, batch, ['psa', 'dste'], draws, 1, { budgetSeconds: budget, targetError: 0.05 });
      console.log(
        `\n${config.model.name} ${when}: reference ${r.referenceEstimator ?? r.reference}, ` +
          `${r.referenceDraws} draws, ${r.referenceSeconds.toFixed(0)} s`,
      );
      console.log('| layer | ref. rel. SE | PSA cos(mean) | PSA rel. error | DSTE cos(mean) | DSTE rel. error |');
      r.layerNames.forEach((layer, k) => {
        const cells = r.estimators.flatMap((e) => [
          e.layers[k].cos[e.layers[k].cos.length - 1].toFixed(3),
          e.layers[k].bias.toFixed(3),
        ]);
        console.log(`| ${layer} | ${r.referenceError[k].toFixed(3)} | ${cells.join(' | ')} |`);
      });
    };
    measure('at initialisation');
    // a short training with the model's own estimator, then the same measurement on the trained weights
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-bias-'));
    const store = RunStore.create(dir, config.model.name, {
      modelFileName: path.basename(full),
      modelText: '{}',
      config: { model: config.model },
      environment: {},
    });
    let done = 0;
    await train({
      spec: config.model,
      train: config.train,
      data,
      store,
      events: { step: () => void done++ }, // at every logInterval steps
      shouldStop: () => done * config.train.logInterval >= steps,
    });
    loadTensorMap(net, store.readCheckpoint('latest').params);
    store.close();
    measure(`after ${steps} steps of ${config.train.estimator}`);
    disposeNetwork(net);
  }
}

void main();
