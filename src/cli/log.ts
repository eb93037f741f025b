// Logs go to stderr so that stdout carries only results (JSON or tables).
export function log(message: string): void {
  process.stderr.write(`sbn: ${message}\n`);
}
