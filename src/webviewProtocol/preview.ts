// The model preview panel (src/extension/panels/previewPanel.ts): the followed model file's state, sent whole on
// every change.
import type { PreviewGradients } from '../protocol';

/**
 * The model preview of one model file: its errors, or its layers and, once computed, small-batch gradient
 * statistics.
 */
export interface ModelPreviewState {
  /** Workspace-relative path of the model file. */
  file: string;
  /** The model file's Uri (string): the page keeps it in its state, the serializer follows it after a reload. */
  fileUri?: string;
  /** Bumped on every change of the file's text. */
  version: number;
  /** Problems in the file (the preview then shows them instead of the model). */
  errors?: { message: string; line?: number; column?: number }[];
  model?: {
    name: string;
    estimator?: string;
    input: number[];
    layers: {
      name: string;
      type: string;
      inShape: number[];
      outShape: number[];
      params: number;
      binaryUnits: number;
    }[];
    params: number;
    binaryUnits: number;
  };
  gradients: { status: 'computing' | 'done' | 'error' | 'unavailable'; message?: string; result?: PreviewGradients };
}

/** Host → the model preview. */
export type PreviewHostMessage = { type: 'preview'; state: ModelPreviewState };
