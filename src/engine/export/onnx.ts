// `sbn export onnx`: a trained SBN as an ONNX inference graph that classifies as SBN Studio does
// (docs/run-format.md, "ONNX"):
//  - mean-field: deterministic; each hidden layer passes on its mean state E[x | a] (F(a) for {0,1} states,
//    2F(a) − 1 for ±1), the output layer's class probabilities of the last one.
//  - sample: one stochastic pass; unit j of a hidden layer is on when u_j < F(a_j) for the uniform noise u given as
//    an input, and the last layer is flip-averaged as `sbn eval` does (docs/math.md §4.6).
//  - ensemble: the mean over K samples of those flip-averaged distributions (acc_e and `sbn eval` rank by it).
// Dense layers are MatMul + Add, conv layers Conv (NCHW, PyTorch's weight layout, which checkpoints keep).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { modelGeometry, outShapeOf, shapeSize, type AffineGeometry } from '../spec/geometry';
import type { ModelSpec } from '../spec';
import { parseModelText } from '../spec';
import type { TensorMap } from '../runs';
import { writeFileAtomic } from '../files';
import { ExportError } from './errors';
import { exportMetadata } from './safetensors';
import { openExportSource } from './source';
import { projectVersion } from '../provenance';
import {
  DT_FLOAT,
  DT_INT64,
  encodeOnnxModel,
  GraphBuilder,
  ONNX_OPSET,
  type OnnxGraph,
  type OnnxValue,
} from './onnxProto';

export const ONNX_MODES = ['mean-field', 'sample', 'ensemble'] as const;
/** K of the ensemble mode when not given (`sbn export onnx --samples`, SBN: Export Run…). */
export const DEFAULT_ONNX_SAMPLES = 16;
export type OnnxMode = (typeof ONNX_MODES)[number];

/** Batch dimension of every input and output. */
const BATCH = 'N';
export const ONNX_INPUT = 'input';
export const ONNX_PROBABILITIES = 'probabilities';
export const ONNX_CLASS = 'class';

/** The noise input of hidden layer `name`. */
export function onnxNoiseInput(name: string): string {
  return `noise_${name}`;
}

export interface OnnxBuild {
  graph: OnnxGraph;
  /** The graph's inputs, outputs (for the CLI's summary and the docs). */
  inputs: OnnxValue[];
  outputs: OnnxValue[];
}

function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/**
 * The ONNX graph of a model with parameters `params` (a checkpoint's, external layout). `samples` is K of the
 * ensemble mode (1 otherwise).
 */
export function buildOnnxGraph(spec: ModelSpec, params: TensorMap, mode: OnnxMode, samples = 1): OnnxBuild {
  const { geometry, names } = modelGeometry(spec);
  const hidden = geometry.slice(0, -1);
  const outGeom = geometry[geometry.length - 1];
  if (outGeom.kind !== 'dense') throw new ExportError(`model ${spec.name}: the output layer must be dense`);
  if (hidden.length === 0 && mode !== 'mean-field')
    throw new ExportError(`model ${spec.name}: --mode ${mode} needs hidden layers (the model has none)`);
  const S = mode === 'ensemble' ? samples : 1;
  const b = new GraphBuilder();
  const param = (key: string) => {
    const t = params[key];
    if (!t) throw new ExportError(`params.${key}: missing from the checkpoint`);
    return t;
  };
  const inputs: OnnxValue[] = [
    {
      name: ONNX_INPUT,
      type: DT_FLOAT,
      shape: [BATCH, ...spec.input.shape],
      doc: 'the examples, as the data set holds them ([C, H, W] channel-major for images)',
    },
  ];
  const on = 1;
  const off = spec.states === '01' ? 0 : -1;
  const cdf = (a: string): string => {
    if (spec.noise === 'normal') {
      // Φ(a) = (1 + erf(a/√2)) / 2
      const e = b.node('Erf', [b.node('Mul', [a, b.scalar('inv_sqrt2', Math.SQRT1_2)], 'scaled')], 'erf');
      return b.node('Mul', [b.node('Add', [e, b.scalar('one', 1)], 'erf1'), b.scalar('half', 0.5)], 'p');
    }
    return b.node('Sigmoid', [a], 'p');
  };
  const affine = (g: AffineGeometry, name: string, x: string, rank: number): string => {
    const w = param(`${name}.weight`);
    const bias = param(`${name}.bias`);
    if (g.kind === 'conv') {
      const W = b.floats(`${name}.weight`, w.shape, w.data);
      const B = b.floats(`${name}.bias`, bias.shape, bias.data);
      const p = g.padding;
      return b.node('Conv', [x, W, B], `${name}.a`, {
        kernel_shape: [g.kernel, g.kernel],
        strides: [g.stride, g.stride],
        pads: [p, p, p, p],
      });
    }
    const flat = rank > 2 ? b.node('Flatten', [x], `${name}.in`, { axis: 1 }) : x;
    const [out, nIn] = w.shape;
    const WT = b.floats(`${name}.weightT`, [nIn, out], transpose2d(w.data, out, nIn));
    const B = b.floats(`${name}.bias`, bias.shape, bias.data);
    return b.node('Add', [b.node('MatMul', [flat, WT], `${name}.xw`), B], `${name}.a`);
  };

  // ensemble: S copies of the batch, sample-major (row s·N + i), as `sbn eval` lays out its samples
  let x = ONNX_INPUT;
  if (S > 1)
    x = b.node(
      'Concat',
      Array.from({ length: S }, () => ONNX_INPUT),
      'input_rep',
      { axis: 0 },
    );
  let rank = 1 + spec.input.shape.length;
  let lastP = '';
  let lastBit = '';
  let lastX = '';
  hidden.forEach((g, k) => {
    const name = names[k];
    const a = affine(g, name, x, rank);
    rank = 1 + outShapeOf(g).length;
    const p = cdf(a);
    if (mode === 'mean-field') {
      x =
        spec.states === '01'
          ? p
          : b.node('Sub', [b.node('Mul', [p, b.scalar('two', 2)], 'p2'), b.scalar('one', 1)], `${name}.x`);
      return;
    }
    const noiseName = onnxNoiseInput(name);
    const units = outShapeOf(g);
    inputs.push({
      name: noiseName,
      type: DT_FLOAT,
      shape: S > 1 ? [S, BATCH, ...units] : [BATCH, ...units],
      doc:
        `uniform noise in [0, 1) for layer ${name}: unit j is on when noise_j < F(a_j)` +
        (S > 1 ? `; one [N, ${units.join(', ')}] block per sample` : ''),
    });
    const u =
      S > 1 ? b.node('Reshape', [noiseName, b.ints(`${name}.noise_shape`, [-1, ...units])], `${name}.u`) : noiseName;
    const bit = b.node('Less', [u, p], `${name}.on`);
    x = b.node('Where', [bit, b.scalar('on', on), b.scalar('off', off)], `${name}.x`);
    lastP = p;
    lastBit = bit;
    lastX = x;
  });

  // the output layer: logits η₀ and class probabilities
  const outName = names[names.length - 1];
  const K = outGeom.units;
  const nLast = shapeSize(outGeom.inShape);
  const probsOf = (logits: string, axis: number, stem: string): string => {
    if (spec.output.loss === 'nll') return b.node('Softmax', [logits], stem, { axis });
    const s = b.node('Sigmoid', [logits], `${stem}.sigmoid`);
    return b.node('Concat', [b.node('Sub', [b.scalar('one', 1), s], `${stem}.neg`), s], stem, { axis });
  };
  const logits = affine(outGeom, outName, x, rank);
  let probs = probsOf(logits, 1, 'p0');
  if (mode !== 'mean-field') {
    // flip-averaging the last hidden layer (docs/math.md §4.6): ρ_i = (1 − P(sampled x_i))/n,
    // p = (1 − Σρ) p(η₀) + Σ_i ρ_i p(η₀ + δ_i W_{:,i})
    const flat = (t: string, stem: string) => (rank > 2 ? b.node('Flatten', [t], stem, { axis: 1 }) : t);
    const pF = flat(lastP, 'pL');
    const bitF = flat(lastBit, 'onL');
    const xF = flat(lastX, 'xL');
    const notSampled = b.node('Where', [bitF, b.node('Sub', [b.scalar('one', 1), pF], 'qL'), pF], 'notSampled');
    const rho = b.node('Div', [notSampled, b.scalar('n_last', nLast)], 'rho');
    const baseWeight = b.node(
      'Sub',
      [b.scalar('one', 1), b.node('ReduceSum', [rho, b.ints('axis1', [1])], 'rhoSum', { keepdims: 1 })],
      'baseWeight',
    );
    // δ = x↓ − x: −2x for ±1, 1 − 2x for {0,1}
    const twoX = b.node('Mul', [xF, b.scalar('two', 2)], 'twoX');
    const delta =
      spec.states === '01' ? b.node('Sub', [b.scalar('one', 1), twoX], 'delta') : b.node('Neg', [twoX], 'delta');
    const WT = `${outName}.weightT`; // [n, K], the output layer's
    const shift = b.node('Mul', [b.node('Unsqueeze', [delta, b.ints('axis2', [2])], 'delta3'), WT], 'shift');
    const flipped = b.node('Add', [b.node('Unsqueeze', [logits, b.ints('axis1u', [1])], 'eta3'), shift], 'etaFlip');
    const pFlip = probsOf(flipped, 2, 'pFlip');
    const mixed = b.node(
      'ReduceSum',
      [
        b.node('Mul', [b.node('Unsqueeze', [rho, b.ints('axis2u', [2])], 'rho3'), pFlip], 'rhoP'),
        b.ints('axis1r', [1]),
      ],
      'flipSum',
      { keepdims: 0 },
    );
    probs = b.node('Add', [b.node('Mul', [baseWeight, probs], 'baseP'), mixed], 'pSample');
    if (S > 1) {
      const Kp = spec.output.loss === 'nll' ? K : 2;
      const perSample = b.node('Reshape', [probs, b.ints('sample_shape', [S, -1, Kp])], 'pSamples');
      probs = b.node('ReduceMean', [perSample], 'pMean', { axes: [0], keepdims: 0 });
    }
  }
  b.nodes.push({ op: 'Identity', inputs: [probs], outputs: [ONNX_PROBABILITIES] });
  b.nodes.push({
    op: 'ArgMax',
    inputs: [ONNX_PROBABILITIES],
    outputs: [ONNX_CLASS],
    attributes: { axis: 1, keepdims: 0 },
  });
  const Kp = spec.output.loss === 'nll' ? K : 2;
  const outputs: OnnxValue[] = [
    {
      name: ONNX_PROBABILITIES,
      type: DT_FLOAT,
      shape: [BATCH, Kp],
      doc: spec.output.loss === 'nll' ? 'class probabilities' : 'probabilities of the labels −1 and +1',
    },
    {
      name: ONNX_CLASS,
      type: DT_INT64,
      shape: [BATCH],
      doc: spec.output.loss === 'nll' ? 'the most probable class' : 'the most probable label: 0 for −1, 1 for +1',
    },
  ];
  return {
    graph: { name: `${spec.name}-${mode}`, nodes: b.nodes, initializers: b.initializers, inputs, outputs },
    inputs,
    outputs,
  };
}

export interface OnnxExport {
  file: string;
  mode: OnnxMode;
  samples: number;
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  bytes: number;
  step: number;
}

/** Write the ONNX model of a run's checkpoint (or a checkpoint file inside a run folder) to `out`. */
export function exportOnnx(
  target: string,
  out: string,
  mode: OnnxMode,
  samples: number,
  which: 'latest' | number = 'latest',
): OnnxExport {
  const src = openExportSource(target, which);
  if (src.runDir === null || src.modelText === null || src.manifest === null)
    throw new ExportError(
      `${target}: an ONNX export needs the run folder (its model file); this checkpoint is not in one`,
    );
  const parsed = parseModelText(src.modelText, src.manifest.model);
  if (!parsed.ok) {
    const e = parsed.errors[0];
    throw new ExportError(`${path.join(src.runDir, src.manifest.model)}: ${e.path ? `${e.path}: ` : ''}${e.message}`);
  }
  const build = buildOnnxGraph(parsed.model, src.checkpoint.params, mode, samples);
  const dir = path.dirname(path.resolve(out));
  if (!fs.existsSync(dir)) throw new ExportError(`--out: the folder ${dir} does not exist`);
  const bytes = encodeOnnxModel(build.graph, {
    producer: 'SBN Studio',
    version: projectVersion(),
    doc: `${parsed.model.name}: a stochastic binary network, ${mode === 'ensemble' ? `ensemble of ${samples}` : mode}`,
    properties: {
      ...exportMetadata(src),
      mode,
      samples: String(mode === 'ensemble' ? samples : 1),
      opset: String(ONNX_OPSET),
    },
  });
  writeFileAtomic(out, bytes);
  return {
    file: out,
    mode,
    samples: mode === 'ensemble' ? samples : 1,
    inputs: build.inputs,
    outputs: build.outputs,
    bytes: bytes.length,
    step: src.checkpoint.step,
  };
}
