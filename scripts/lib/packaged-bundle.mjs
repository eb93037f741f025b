// esbuild options of the packaged extension's bundles (scripts/package.mjs; test/unit/nativeSetup.test.ts bundles a
// probe with the same options to check that a bundle without node_modules loads a set-up folder's binding).
// Everything is bundled but `vscode`; tfjs-node's binding lookup (@mapbox/node-pre-gyp) is answered by
// src/engine/native/tfjsBinding.ts, and tfjs-node-gpu is only ever required from a checkout's node_modules.
export function packagedBundleOptions(root) {
  return {
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    logLevel: 'error',
    external: ['vscode', '@tensorflow/tfjs-node-gpu'],
    alias: { '@mapbox/node-pre-gyp': './src/engine/native/tfjsBinding.ts' },
  };
}
