// The run folder: the contract between the trainer, the `sbn` CLI and the VS Code extension (docs/run-format.md).
// Pure Node: no TensorFlow.js, no vscode.
export * from './checkpoint';
export * from './metrics';
export * from './records';
export * from './status';
export * from './store';
export * from './meta';
export * from './environment';
export * from './tensorboard';
