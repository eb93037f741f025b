// The paper's 2-D two-class toy set (200 points, 100 per label, labels ±1): the data of its gradient-accuracy
// experiment. Built in (bundled from toy2d.json) so it needs no file; the coordinates are the float32 values of
// the authors' data, written with the fewest digits that read back to the same float32.
import toy from './toy2d.json';
import { BUILT_IN_DATASETS } from './builtIn';
import { RawData } from './types';

export function readToy2d(): RawData {
  const n = toy.X.length;
  return {
    shape: [...BUILT_IN_DATASETS['toy-2d'].shape],
    train: { x: Float32Array.from(toy.X.flat()), y: Float32Array.from(toy.Y), n },
    source: "toy-2d (built in: the 200 points of the paper's gradient-accuracy experiment)",
  };
}
