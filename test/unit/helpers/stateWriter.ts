// A separate process that updates one state file many times under its lock (test/unit/sweepLock.test.ts):
//   node stateWriter.js sweep <sweep folder> <point id> <times>
//   node stateWriter.js suite <suite folder> <suite name> <method> <times>
import { updateSweepState } from '../../../src/engine/sweeps/folder';
import { updateSuiteState } from '../../../src/engine/experiments/trainSuite';

const [kind, dir, ...rest] = process.argv.slice(2);
if (kind === 'sweep') {
  const [pointId, times] = rest;
  for (let i = 0; i < Number(times); i++)
    updateSweepState(dir, (s) => {
      const p = s.points.find((x) => x.id === pointId)!;
      p.attempts = (p.attempts ?? 0) + 1;
    });
} else {
  const [suite, method, times] = rest;
  for (let i = 0; i < Number(times); i++)
    updateSuiteState(dir, suite, (s) => {
      const runDir = s.methods[method]?.runDir ?? '0';
      s.methods[method] = { runDir: String(Number(runDir) + 1) };
    });
}
