// The typed form of a model file (*.sbn.json / *.sbn.yaml). The JSON Schema in schemas/ describes the
// same structure for editors; parseModel() turns a file into this type or into a list of SpecErrors.

/** Binary state coding of the hidden units: ±1 (`pm1`) or {0,1} (`01`). Spec §1.2. */
export type StateCoding = 'pm1' | '01';
/** Noise z in x = sign(a − z): its CDF F is the sigmoid (`logistic`) or Φ (`normal`). Spec §1.1. */
export type NoiseKind = 'logistic' | 'normal';
/** `logistic`: one output unit, labels ±1, ℓ = log(1 + e^{−yη}). `nll`: softmax over K classes, labels 0..K−1. */
export type OutputLoss = 'logistic' | 'nll';

export interface DenseLayerSpec {
  type: 'dense';
  units: number;
  /** Optional display name; defaults to `dense<k>` (k counted from 1 over hidden layers). */
  name?: string;
}

/** Hidden (stochastic binary) layers. Later issues add `conv` and `flatten` to this union. */
export type LayerSpec = DenseLayerSpec;

export interface OutputSpec {
  units: number;
  loss: OutputLoss;
}

export interface ModelSpec {
  name: string;
  input: { shape: number[] };
  states: StateCoding;
  noise: NoiseKind;
  layers: LayerSpec[];
  output: OutputSpec;
}

/** One problem found in a model file. `path` uses the file's own keys, e.g. `layers[2].units`. */
export interface SpecError {
  file?: string;
  path: string;
  /** 1-based line and column of the offending value, when the source text is known. */
  line?: number;
  column?: number;
  /** End of the offending text (exclusive, 1-based), for editors that underline a range. */
  endLine?: number;
  endColumn?: number;
  /** What was expected, in words a user understands: "expected an integer ≥ 1, got 0". */
  message: string;
}

export type ParseResult =
  | { ok: true; model: ModelSpec }
  | { ok: false; errors: SpecError[] };
