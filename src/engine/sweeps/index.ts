// Sweeps: a model file trained over a grid of its fields and several seeds (docs/sweeps.md).
// Pure TypeScript, no vscode.
export * from './format';
export * from './executor';
export * from './folder';
export * from './run';
export * from './report';
