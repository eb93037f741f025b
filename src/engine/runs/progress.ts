// The progress figures every view of a training run shows — its step rate and the time left — computed once, here:
// the panels' header and step-rate chart (from metrics.jsonl), the status bar and the progress notification (from the
// worker's step events) all call these, so that they agree.

/** A step record's step and the seconds at which it was written (any clock, the same for all points). */
export interface StepTime {
  step: number;
  seconds: number;
}

/** How many of the latest step records the step rate is measured over. */
export const STEP_RATE_WINDOW = 20;

/**
 * Steps per second over the last `window` step records (the span from the oldest of them to the newest); undefined
 * until two records with time between them. Callers keep only the records of the process training now (a resume
 * starts a new list), so that start-up and the pause before a resume do not count.
 */
export function stepRate(times: readonly StepTime[], window = STEP_RATE_WINDOW): number | undefined {
  if (times.length < 2) return undefined;
  const last = times[times.length - 1];
  const first = times[Math.max(0, times.length - window)];
  if (!(last.step > first.step && last.seconds > first.seconds)) return undefined;
  return (last.step - first.step) / (last.seconds - first.seconds);
}

/**
 * The step a run is at: its last step record's, or, once it ended (stopped, finished), the step status.json records
 * when that is later (a stop between log points: "stopped at step 1329" after the record of step 1328).
 */
export function runStep(
  recordStep: number | undefined,
  status: string,
  statusStep: number | undefined,
): number | undefined {
  if (status === 'running' || statusStep === undefined) return recordStep;
  return recordStep === undefined ? statusStep : Math.max(recordStep, statusStep);
}

/** Seconds left to `totalSteps` at `stepsPerSecond`; undefined when any of them is unknown. */
export function etaSeconds(
  totalSteps: number | undefined,
  step: number | undefined,
  stepsPerSecond: number | undefined,
): number | undefined {
  if (totalSteps === undefined || step === undefined || !stepsPerSecond || !(stepsPerSecond > 0)) return undefined;
  return Math.max(0, (totalSteps - step) / stepsPerSecond);
}
