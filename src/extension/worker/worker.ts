// A worker process: a separate Node process (forked by the extension host with ELECTRON_RUN_AS_NODE), so that
// training and the other jobs never run on the extension-host thread. It runs one job — train, resume, compare,
// evaluate, preview or environment — streaming typed events to the host (src/protocol.ts), and exits. `stop` asks a
// training job to finish the current step, write a checkpoint and end; the host kills the process if that takes too
// long. Every request is checked against the protocol first: a malformed one is answered with an error event naming
// the field, never with a crash.
import { STARTED_BY_ENV } from '../../engine/provenance';
import * as path from 'node:path';
import { initBackend } from '../../engine/backend';
import { kernelsInfo } from '../../engine/kernels';
import { withEnvironmentHint } from '../../engine/environmentHint';
import { parseModelText, formatSpecError, withDiagnosticsDefault } from '../../engine/spec';
import { ConfigError, resumeSession, runSession, startSession, type Session } from '../../engine/train/session';
import { initialNetwork, resolveTrainSpec } from '../../engine/train/trainer';
import { evaluateRun } from '../../engine/train/evaluateRun';
import { compareEstimators } from '../../engine/gradients/diagnostics';
import { comparisonView, evaluationView } from '../panels/resultsData';
import { initNetwork, disposeNetwork } from '../../engine/model/network';
import { Rng } from '../../engine/rng';
import { DataError, loadDataset } from '../../engine/data';
import { isEstimatorName, type EstimatorName } from '../../engine/estimators';
import { BACKEND_PROBE_FLAG, environmentReport, runBackendProbe } from '../../engine/doctor';
import { parseWorkerRequest, type WorkerEvent, type WorkerRequest } from '../../protocol';
import { shapeSize } from '../../engine/spec/geometry';
import { readSweepState, SweepStateError } from '../../engine/sweeps/format';
import { EmbeddedPool, PoolError } from '../../engine/sweeps/pool';
import { runSweep } from '../../engine/sweeps/run';

function send(event: WorkerEvent): void {
  if (process.connected) process.send?.(event);
}

let stopRequested = false;
/** Aborted with stopRequested: a sweep passes it to its pool, which stops every point with a checkpoint. */
const stopController = new AbortController();

class UserError extends Error {}

function parseModel(modelFile: string, modelText: string) {
  const parsed = parseModelText(modelText, modelFile);
  if (!parsed.ok) {
    const [first, ...rest] = parsed.errors;
    throw new UserError(
      formatSpecError({ ...first, file: modelFile }) + (rest.length ? ` (and ${rest.length} more)` : ''),
    );
  }
  return parsed.model;
}

async function backendFor(preference: string) {
  try {
    const info = await initBackend(preference === 'auto' ? undefined : preference);
    const kernels = kernelsInfo();
    const line = `backend ${info.detail}; PSA kernels ${kernels.detail}`;
    send({ type: 'message', text: kernels.unavailable ? withEnvironmentHint(line) : line });
    return info;
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}

async function train(session: Session, backend: string, job: 'train' | 'resume'): Promise<void> {
  const { model, train: settings } = session.config;
  send({
    type: 'started',
    job,
    backend,
    runDir: session.store.dir,
    estimator: settings.estimator,
    description: `${model.name}: ${settings.estimator} on ${session.data.name}, ${settings.epochs} epochs`,
  });
  const { result } = await runSession(session, backend, {
    shouldStop: () => stopRequested,
    events: {
      step: (e) => send({ type: 'step', ...e }),
      eval: (e) =>
        send({
          type: 'eval',
          split: e.split,
          step: e.step,
          epoch: e.epoch,
          u_loss: e.u_loss,
          acc1: e.acc1,
          acc_e: e.acc_e,
          entropy: e.entropy,
        }),
      epoch: (e) => send({ type: 'epoch', ...e }),
      lrTrial: (e) => {
        const outcome = e.diverged ? 'diverged' : e.objective.toFixed(4);
        send({ type: 'message', text: `lr trial ${e.trial}: lr ${e.lr.toExponential(2)} → ${outcome}` });
      },
      message: (text) => send({ type: 'message', text }),
    },
  });
  send({ type: 'done', status: result.status, runDir: session.store.dir, message: result.message });
}

/**
 * The network and batch of an estimator comparison: the model at its initialisation on its first training batch
 * (or 32 random inputs without data).
 */
function comparisonSetup(model: ReturnType<typeof parseModel>, modelFile: string, maxRows = Infinity) {
  let net;
  let data: { X: number[][]; Y: number[] };
  let dataNote: string;
  if (model.data && model.train) {
    let loaded;
    try {
      loaded = loadDataset(model.data, {
        baseDir: path.dirname(modelFile),
        inputShape: model.input.shape,
        loss: model.output.loss,
        classes: model.output.units,
      });
    } catch (e) {
      if (e instanceof DataError) throw new UserError(`${modelFile}: ${e.message}`);
      throw e;
    }
    const t = resolveTrainSpec(model.train);
    net = initialNetwork(model, t, loaded);
    const rows = Math.min(t.batchSize, loaded.train.n, maxRows);
    const features = loaded.train.x.length / loaded.train.n;
    data = {
      X: Array.from({ length: rows }, (_, i) => Array.from(loaded.train.x.subarray(i * features, (i + 1) * features))),
      Y: Array.from(loaded.train.y.subarray(0, rows)),
    };
    const batch = `the first ${rows} training examples of ${loaded.name}`;
    dataNote = `the network at its initialisation (${t.init}), on ${batch}`;
  } else {
    const rng = new Rng(1);
    net = initNetwork(model, rng);
    const features = shapeSize(model.input.shape);
    data = {
      X: Array.from({ length: Math.min(32, maxRows) }, () => Array.from({ length: features }, () => rng.uniform())),
      Y: Array.from({ length: Math.min(32, maxRows) }, () =>
        model.output.loss === 'logistic' ? (rng.uniform() < 0.5 ? -1 : 1) : rng.int(model.output.units),
      ),
    };
    dataNote =
      `the network at its default initialisation, on ${Math.min(32, maxRows)} random inputs ` +
      '(the model file has no data/train section)';
  }
  return { net, data, dataNote };
}

/** The estimators a comparison or preview draws: the known names but `exact` (a reference, never a compared one). */
function comparedEstimators(requested: readonly string[]): EstimatorName[] {
  return requested.filter((n): n is EstimatorName => isEstimatorName(n) && n !== 'exact');
}

/** One job request; 'stop' never gets here (the message handler below takes it). */
async function handle(req: Exclude<WorkerRequest, { type: 'stop' }>): Promise<void> {
  switch (req.type) {
    case 'train': {
      const model = withDiagnosticsDefault(parseModel(req.modelFile, req.modelText), req.diagnosticsInterval);
      const backend = await backendFor(req.backend);
      const overrides = { ...req.overrides, estimator: req.overrides.estimator as never };
      const session = startSession(req.modelFile, req.modelText, model, overrides, req.runsRoot, {
        backend: backend.name,
        backendDetail: backend.detail,
        versions: { node: process.version },
        startedBy: req.startedBy ?? 'VS Code (SBN Studio)',
      });
      return train(session, backend.name, 'train');
    }
    case 'resume': {
      const backend = await backendFor(req.backend);
      const session = resumeSession(req.runDir, { backend: backend.name });
      for (const w of session.warnings) send({ type: 'message', text: `warning: ${w}` });
      send({ type: 'message', text: `resuming ${session.note}` });
      return train(session, backend.name, 'resume');
    }
    case 'evaluate': {
      const backend = await backendFor(req.backend);
      send({
        type: 'started',
        job: 'evaluate',
        backend: backend.name,
        runDir: req.runDir,
        description: `evaluating ${path.basename(req.runDir)}`,
      });
      const r = evaluateRun(req.runDir, req.samples, req.split);
      send({ type: 'runEvaluation', view: evaluationView(r, req.runDir, backend.name) });
      send({ type: 'done', status: 'finished', runDir: req.runDir });
      return;
    }
    case 'compare': {
      const model = parseModel(req.modelFile, req.modelText);
      const backend = await backendFor(req.backend);
      send({
        type: 'started',
        job: 'compare',
        backend: backend.name,
        description: `comparing estimators on ${model.name}`,
      });
      const names = comparedEstimators(req.estimators);
      const { net, data, dataNote } = comparisonSetup(model, req.modelFile);
      // the reference gets a minute at most: past that, fewer draws and its standard error says so
      const result = compareEstimators(net, data, names, req.draws, 1, { budgetSeconds: 60 });
      disposeNetwork(net);
      send({
        type: 'estimatorComparison',
        view: comparisonView(model.name, result, `${dataNote}; backend ${backend.name}`),
      });
      send({ type: 'done', status: 'finished' });
      return;
    }
    case 'preview': {
      // the model preview's small-batch gradient statistics (src/extension/panels/previewPanel.ts); the host kills
      // this worker when the model changes again
      const model = parseModel(req.modelFile, req.modelText);
      const backend = await backendFor(req.backend);
      send({ type: 'started', job: 'preview', backend: backend.name, description: `previewing ${model.name}` });
      const names = comparedEstimators(req.estimators);
      const { net, data, dataNote } = comparisonSetup(model, req.modelFile, 16);
      const r = compareEstimators(net, data, names, req.draws, 1, { maxDraws: 400, budgetSeconds: 5 });
      disposeNetwork(net);
      send({
        type: 'preview',
        result: {
          reference: r.reference,
          layers: r.layerNames,
          draws: r.draws,
          note: dataNote,
          seconds: r.referenceSeconds + r.estimators.reduce((a, e) => a + e.seconds, 0),
          estimators: r.estimators.map((e) => ({
            estimator: e.estimator,
            seconds: e.seconds,
            layers: e.layers.map((l, k) => ({
              name: r.layerNames[k],
              variance: l.variance,
              snr: l.snr,
              bias: l.bias,
              cos1: l.cos[0],
            })),
          })),
        },
      });
      send({ type: 'done', status: 'finished' });
      return;
    }
    case 'sweep': {
      // the points run in sweep worker processes (dist/sweepWorker.js beside this file), as `sbn sweep --resume`
      let state;
      try {
        state = readSweepState(req.sweepDir);
      } catch (e) {
        if (e instanceof SweepStateError) throw new UserError(e.message);
        throw e;
      }
      const left = state.points.filter((p) => p.status === 'waiting' || p.status === 'running').length;
      // the sweep worker processes inherit it: their runs record that the editor started them
      process.env[STARTED_BY_ENV] = `VS Code: SBN: Run Sweep (${req.sweepDir})`;
      send({
        type: 'started',
        job: 'sweep',
        backend: req.backend,
        runDir: req.sweepDir,
        description:
          `sweep ${path.basename(req.sweepDir)}: ${left} of ${state.points.length} runs to do ` +
          `on ${Math.max(1, Math.min(req.jobs, left))} worker process(es)`,
      });
      const pool = new EmbeddedPool({
        jobs: req.jobs,
        workerEntry: path.join(__dirname, 'sweepWorker.js'),
        workerArgs: req.backend === 'auto' ? [] : ['--backend', req.backend],
      });
      let result;
      try {
        result = await runSweep(req.sweepDir, pool, {
          signal: stopController.signal,
          onStatus: (p, counts) =>
            send({
              type: 'message',
              text:
                `[${counts.finished + counts.failed}/${state.points.length}] point ${p.index} seed ${p.seed}: ` +
                `${p.status}${p.worker && p.status === 'running' ? ` on ${p.worker}` : ''}` +
                `${p.reason && p.status !== 'running' ? ` (${p.reason})` : ''}`,
            }),
        });
      } catch (e) {
        if (e instanceof PoolError) throw new UserError(e.message);
        throw e;
      }
      const { counts } = result;
      send({
        type: 'done',
        status: result.stopped ? 'stopped' : 'finished',
        runDir: req.sweepDir,
        message:
          `${counts.finished} finished, ${counts.failed} failed` +
          (counts.waiting + counts.running ? `, ${counts.waiting + counts.running} to resume` : ''),
      });
      return;
    }
    case 'environment': {
      // each backend is tried in a child process running this same file with BACKEND_PROBE_FLAG (below)
      const report = await environmentReport({
        sbnVersion: req.sbnVersion,
        probeScript: __filename,
        preferredBackend: req.backend,
        runsFolders: req.runsFolders,
      });
      send({ type: 'environment', report });
      send({ type: 'done', status: 'finished' });
      return;
    }
  }
}

// A child of an `environment` job: initialise one backend, print the outcome, exit (src/engine/doctor.ts).
if (process.argv[2] === BACKEND_PROBE_FLAG) {
  void runBackendProbe(process.argv[3]).then(() => process.exit(0));
}

/** The job this worker runs, once one has been asked for. */
let running: WorkerRequest['type'] | undefined;

process.on('message', (message: unknown) => {
  const parsed = parseWorkerRequest(message);
  if (!parsed.ok) return refuse(parsed.error);
  const request = parsed.message;
  if (request.type === 'stop') {
    stopRequested = true;
    stopController.abort();
    return;
  }
  if (running) return refuse(`a worker runs one job: got "${request.type}" while "${running}" runs`);
  running = request.type;
  handle(request).then(
    () => process.exit(0),
    (e: Error) => {
      const user = e instanceof UserError || e instanceof ConfigError;
      send({ type: 'error', message: e.message, userError: user });
      exitSoon(user ? 2 : 1);
    },
  );
});

/**
 * A request the protocol does not allow (a bug on the host's side). Before a job starts it ends the worker with
 * an error event; during a job, the job goes on and the host's log gets a warning.
 */
function refuse(reason: string): void {
  if (running) {
    send({ type: 'message', text: `warning: ignored a request: ${reason}` });
    return;
  }
  send({ type: 'error', message: reason, userError: false });
  exitSoon(1);
}

/** Gives the IPC channel a moment to deliver the last event before exiting. */
function exitSoon(code: number): void {
  setTimeout(() => process.exit(code), 50);
}

// The host went away (window closed, reload): finish the current step, checkpoint and end.
process.on('disconnect', () => {
  stopRequested = true;
  stopController.abort();
});
