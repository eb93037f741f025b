// Which backend this test run is on, as scripts/run-tests.mjs sees it: the unit tests run once per tensor backend
// for the files marked "test-backends: each", and the primary backend (tensorflow where it loads) also runs every
// other file. Statistical tests that need many draws to have power run in full on the primary backend and as a
// smaller sample of the same test on the others: the estimators' arithmetic is shared by all backends, and what
// differs between them (the kernels, tested on each in kernels.test.ts) would show as a gross error, which the
// smaller sample still finds.

/** True on the primary backend, and whenever a file is run on its own (`node --test dist/test/unit/x.test.js`). */
export function onPrimaryBackend(): boolean {
  const primary = process.env.SBN_TEST_PRIMARY_BACKEND;
  return !primary || primary === process.env.SBN_BACKEND;
}

/** `full` on the primary backend, `full / divisor` (rounded up) on the others. */
export function drawsOnThisBackend(full: number, divisor: number): number {
  return onPrimaryBackend() ? full : Math.ceil(full / divisor);
}
