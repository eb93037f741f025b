// What ran a run, in the words the Runs view and the panel headers show, from the facts of its environment.json
// (environmentFacts, records.ts).
import type { EnvironmentFileFacts } from './records';

const ORIGIN_LABEL = { checkout: 'node_modules', setup: 'native set-up' } as const;

/** One line: "tensorflow (libtensorflow 2.21.0) from the native set-up, on CPU". */
export function backendSummary(f: EnvironmentFileFacts): string | undefined {
  const base = f.backendDetail ?? f.backend;
  if (!base) return undefined;
  const where = f.origin ? ` from ${ORIGIN_LABEL[f.origin]}` : '';
  const devices = f.devices?.length ? `, on ${[...new Set(f.devices)].join(' + ')}` : '';
  return `${base}${where}${devices}`;
}
