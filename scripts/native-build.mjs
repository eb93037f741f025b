// What the install-time native builds share (scripts/build-tfjs-node.mjs, scripts/build-kernels.mjs): where Node's
// headers and npm's own node-gyp are, so that node-gyp never has to download anything.
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A folder with include/node/{common.gypi,node_api.h}: $npm_config_nodedir, this Node's prefix, or /usr. */
export function nodeDir() {
  const candidates = [process.env.npm_config_nodedir, dirname(dirname(realpathSync(process.execPath))), '/usr'];
  return candidates.find((d) => d && existsSync(join(d, 'include', 'node', 'common.gypi'))
    && existsSync(join(d, 'include', 'node', 'node_api.h')));
}

/** npm's bundled node-gyp (or $npm_config_node_gyp), or null. */
export function nodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) {
    return process.env.npm_config_node_gyp;
  }
  const prefix = dirname(dirname(realpathSync(process.execPath)));
  for (const p of [join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(prefix, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')]) {
    if (existsSync(p)) return p;
  }
  return null;
}
