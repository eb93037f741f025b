// Stands in for @mapbox/node-pre-gyp inside @tensorflow/tfjs-node: its dist/index.js asks
// `require('@mapbox/node-pre-gyp').find(<its package.json>)` for the path of tfjs_binding.node and then requires it.
// Where the binding comes from a set-up folder, backend.ts names the file here before it requires tfjs-node, so
// tfjs-node's JavaScript (and with it the one @tensorflow/tfjs the engine uses) runs unchanged against that binding:
//   - the packaged extension bundles tfjs-node's JavaScript with this module aliased for @mapbox/node-pre-gyp
//     (scripts/package.mjs);
//   - a checkout's builds keep tfjs-node external; backend.ts then puts this module into require's cache under
//     node-pre-gyp's resolved path before it requires tfjs-node from node_modules.
let bindingPath: string | undefined;

/** The binding tfjs-node will load (set before requiring it). */
export function setTfjsBindingPath(path: string): void {
  bindingPath = path;
}

/** node-pre-gyp's find(package.json): here, the path set above (the package.json it is given is not needed). */
export function find(): string {
  if (!bindingPath) {
    throw new Error(
      'tfjs-node was loaded without a binding path (src/engine/backend.ts sets it from the native set-up)',
    );
  }
  return bindingPath;
}
