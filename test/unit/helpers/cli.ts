// The `sbn` CLI run in-process (runCli with captured output), and what every failure of it must look like.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../../../src/cli/main';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function sbnInProcess(...args: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    out: (t) => {
      stdout += t;
    },
    err: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

/** stderr without the backend line every command that starts a backend logs first. */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l !== '' && !/^sbn: backend /.test(l));
}

/** Exit code 2, nothing on stdout, exactly one line on stderr (besides the backend line), no stack trace. */
export function assertUsageError(r: CliRun, ...patterns: RegExp[]): string {
  assert.equal(r.code, 2, `exit code ${r.code}; stderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  const lines = errorLines(r.stderr);
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at |internal error/, 'stack trace or internal error printed');
  for (const p of patterns) assert.match(lines[0], p);
  return lines[0];
}

/** Run folders under `root` whose status.json still says `running` (or that hold a lock). */
export function runningRuns(root: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  return names.filter((n) => {
    const dir = path.join(root, n);
    try {
      const status = JSON.parse(fs.readFileSync(path.join(dir, 'status.json'), 'utf8')) as { status?: string };
      return status.status === 'running' || fs.existsSync(path.join(dir, 'lock'));
    } catch {
      return false;
    }
  });
}
