// The parts of `npm run bench:peer` that can be checked without timing anything: the cases the PyTorch peer
// (bench/peer/sbn_peer.py) is sent, its replies, the result rows and the targets of issue 16 they are held to.

/** A layer as the peer builds it (the model file's hidden layers, pooling aside). */
export type PeerLayer =
  | { type: 'dense'; units: number }
  | { type: 'conv'; filters: number; kernel: number; stride: number; padding: number }
  | { type: 'flatten' };

export interface PeerOptimizer {
  type: 'sgd' | 'adam';
  momentum?: number;
  nesterov?: boolean;
}

/** What `setup <json>` sends: one training step of a net, one conv layer step, or one epoch of `sbn train`. */
export type PeerCase =
  | {
      kind: 'net';
      batch: number;
      input: number[];
      layers: PeerLayer[];
      outputUnits: number;
      optimizer: PeerOptimizer;
      lr: number;
    }
  | {
      kind: 'conv-layer';
      batch: number;
      inShape: number[];
      filters: number;
      kernel: number;
      stride: number;
      padding: number;
    }
  | {
      kind: 'epoch';
      batch: number;
      input: number[];
      layers: PeerLayer[];
      outputUnits: number;
      optimizer: PeerOptimizer;
      lr: number;
      train: number;
      validation: number;
      test: number;
      evalTrain: number;
      evalSamples: number;
      /** Examples per evaluation batch (the engine's chunk: its flip tensor size over the samples). */
      evalChunk: number;
    };

export type PeerReply =
  | { kind: 'ready'; torch: string; threads: number }
  | { kind: 'missing-torch'; reason: string }
  | { kind: 'ok'; what: string }
  | { kind: 'times'; ms: number[] }
  | { kind: 'error'; message: string };

/** One line of the peer's stdout; throws with the line quoted when it is none of the replies. */
export function parsePeerReply(line: string): PeerReply {
  const text = line.trim();
  const space = text.indexOf(' ');
  const word = space < 0 ? text : text.slice(0, space);
  const rest = space < 0 ? '' : text.slice(space + 1).trim();
  switch (word) {
    case 'ready': {
      let info: unknown;
      try {
        info = JSON.parse(rest);
      } catch {
        info = undefined;
      }
      const o = info as { torch?: unknown; threads?: unknown } | undefined;
      if (typeof o?.torch !== 'string' || typeof o.threads !== 'number')
        throw new Error(`the PyTorch peer said "${text}": expected ready {"torch": version, "threads": n}`);
      return { kind: 'ready', torch: o.torch, threads: o.threads };
    }
    case 'missing-torch':
      return { kind: 'missing-torch', reason: rest };
    case 'ok':
      return { kind: 'ok', what: rest };
    case 'error':
      return { kind: 'error', message: rest };
    case 'times': {
      const ms = rest === '' ? [] : rest.split(/\s+/).map(Number);
      if (ms.length === 0 || ms.some((v) => !Number.isFinite(v) || v < 0))
        throw new Error(`the PyTorch peer said "${text}": expected times followed by milliseconds`);
      return { kind: 'times', ms };
    }
    default:
      throw new Error(`the PyTorch peer said "${text}": expected ready, ok, times or error`);
  }
}

/** What a case is held to (issue 16): our step over PyTorch's straight-through step, at most. */
export interface Targets {
  dste?: number;
  psa?: number;
}

/** A result row: best times (ms) and the ratios of ours to PyTorch's ST, per thread count. */
export interface PeerRow {
  case: string;
  threads: number;
  torch_st_ms: number;
  dste_ms: number | null;
  psa_ms: number | null;
  dste_over_torch: number | null;
  psa_over_torch: number | null;
  targets: Targets;
  /** Whether every ratio with a target is within it. */
  met: boolean;
}

function best(ms: number[]): number | null {
  return ms.length === 0 ? null : Math.min(...ms);
}

/** The row of one case: best of each side's times (all rounds together), ratios of the bests, targets checked. */
export function peerRow(
  name: string,
  threads: number,
  times: { torch: number[]; dste: number[]; psa: number[] },
  targets: Targets,
): PeerRow {
  const torch = best(times.torch);
  if (torch === null) throw new Error(`${name}: no PyTorch time`);
  const dste = best(times.dste);
  const psa = best(times.psa);
  const ratio = (v: number | null) => (v === null ? null : v / torch);
  const row = {
    case: name,
    threads,
    torch_st_ms: torch,
    dste_ms: dste,
    psa_ms: psa,
    dste_over_torch: ratio(dste),
    psa_over_torch: ratio(psa),
    targets,
  };
  const within = (r: number | null, t: number | undefined) => t === undefined || (r !== null && r <= t);
  return { ...row, met: within(row.dste_over_torch, targets.dste) && within(row.psa_over_torch, targets.psa) };
}

/** Issue 16's targets: a training step of the dense nets and the Fashion conv example. */
export const STEP_TARGETS: Targets = { dste: 1.2, psa: 1.5 };
/** A conv layer step of CIFAR_S1 layer 2. */
export const CONV_LAYER_TARGETS: Targets = { dste: 1.2, psa: 2.5 };
/** An epoch of the MNIST MLP with PSA, evaluations included (ours with PSA against PyTorch's ST). */
export const EPOCH_TARGETS: Targets = { psa: 1.5 };

/** "dense, batch 64: DSTE 1.42× (≤ 1.2: not met), PSA 1.80× (≤ 1.5: not met)" */
export function describeRow(r: PeerRow): string {
  const part = (label: string, v: number | null, t: number | undefined) =>
    v === null ? [] : [`${label} ${v.toFixed(2)}×${t === undefined ? '' : ` (≤ ${t}: ${v <= t ? 'met' : 'not met'})`}`];
  return (
    `${r.case}, ${r.threads} thread${r.threads === 1 ? '' : 's'}: PyTorch ST ${r.torch_st_ms.toFixed(1)} ms; ` +
    [...part('DSTE', r.dste_over_torch, r.targets.dste), ...part('PSA', r.psa_over_torch, r.targets.psa)].join(', ')
  );
}
