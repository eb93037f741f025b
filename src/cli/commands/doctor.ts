// `sbn doctor [--json]`: the environment report (src/engine/doctor.ts) on one screen, or as one JSON object for
// bug reports. Every "cannot" message of the CLI points here.
import * as path from 'node:path';
import { environmentReport } from '../../engine/doctor';
import type { EnvironmentReport } from '../../environmentReport';
import { CliError } from '../errors';

export interface DoctorCliOptions {
  json?: boolean;
  backend?: string;
  runs: string;
  timeout: string;
}

export function formatEnvironmentReport(r: EnvironmentReport): string {
  const yes = (b: boolean) => (b ? '✓' : '✗');
  const lines: string[] = [
    `SBN Studio ${r.sbnVersion} · Node.js ${r.node.version} on ${r.node.platform}-${r.node.arch}` +
      (r.vscode ? ` · VS Code ${r.vscode.version}` : ''),
    `CPU ${r.node.cpuModel} × ${r.node.cpus} · ${r.node.memoryGiB} GiB memory`,
    '',
    `Backends (preferred: ${r.preferredBackend}; a run uses: ${r.selectedBackend ?? 'none: nothing loads'})`,
  ];
  for (const b of r.backends) {
    lines.push(
      `  ${yes(b.loads)} ${b.name.padEnd(10)} ${b.loads ? b.detail : `cannot load: ${b.reason}`} ` +
        `(${b.seconds.toFixed(1)} s)`,
    );
  }
  const n = r.native;
  const k = n.kernels;
  const binding = n.folder
    ? `${n.folder} (${n.origin === 'setup' ? 'set-up folder' : 'checkout'})`
    : 'none found (`sbn setup backend` builds one)';
  const libtensorflow =
    (n.libtensorflow.version ?? '?') +
    (n.libtensorflow.path ? ` (${n.libtensorflow.path})` : ' (not found)') +
    (n.libtensorflow.gpu ? ', GPU build' : '');
  const gpus = n.gpus.length
    ? `${n.gpus.join(', ')} (listed by the driver; TensorFlow.js runs on the CPU here)`
    : 'none found';
  lines.push(
    '',
    `Native backend: ${n.setUp ? 'set up' : `not set up (${n.why})`}`,
    `  binding         ${binding}`,
    `  set-up folder   ${n.setupDir}`,
    `  libtensorflow   ${libtensorflow}`,
    `  TF devices      ${n.devices.length ? n.devices.join(', ') : "not listed (listed by the set-up's load check)"}`,
    `  PSA kernels     ${k.detail}${k.path ? ` from ${k.path}` : ''}` +
      (k.isas.length ? `; this CPU: ${k.isas.join(', ')}` : ''),
    `  GPUs            ${gpus}`,
    '',
    "Data sets (a model file's data.path wins over all of these)",
  );
  for (const d of r.datasets) {
    lines.push(
      `  ${yes(!!d.found)} ${d.name.padEnd(14)} ${d.found ? d.found.label : `missing: \`sbn data fetch ${d.name}\``}`,
    );
  }
  lines.push(
    `  stores: ${r.dataStores.searched.join(', ')} (downloads go to ${r.dataStores.downloadsTo})`,
    '',
    'Runs folders',
  );
  for (const f of r.runsFolders)
    lines.push(`  ${f.dir}: ${f.exists ? `${f.runs} run${f.runs === 1 ? '' : 's'}` : 'does not exist yet'}`);
  const vars = Object.entries(r.variables);
  if (vars.length) lines.push('', 'Environment variables', ...vars.map(([key, v]) => `  ${key}=${v}`));
  return `${lines.join('\n')}\n`;
}

export async function doctorCommand(o: DoctorCliOptions): Promise<void> {
  const timeout = Number(o.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new CliError(`--timeout: expected a positive number of seconds, got "${o.timeout}"`);
  const report = await environmentReport({
    sbnVersion: process.env.SBN_VERSION ?? '0.1.0',
    probeScript: process.argv[1],
    preferredBackend: o.backend,
    runsFolders: [path.resolve(o.runs)],
    timeoutMs: timeout * 1000,
  });
  process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatEnvironmentReport(report));
}
