// Logs go to stderr so that stdout carries only results (JSON or tables).
import { err } from './io';

export function log(message: string): void {
  err(`sbn: ${message}\n`);
}
