// `sbn experiment gradacc` (docs/math.md §3): the gradient accuracy of the paper's seven estimators on the authors'
// checkpoints and on our own re-creation of them (U(−1, 1) + AP2 init, REINFORCE training, docs/math.md §3.2),
// compared with the authors' published curves, with findings stated from the numbers.
export { GRADACC_MODEL, GRADACC_PARAMETERS, GRADACC_SIZES } from './model';
export {
  AUTHORS_DRAWS,
  AUTHORS_METHOD,
  compareWithReference,
  paperMFor,
  referenceAt,
  referenceCurves,
  type AuthorsCurvesFile,
  type ReferenceCurves,
} from './reference';
export {
  GRADACC_EPOCHS,
  GRADACC_TRAINING,
  ap2Init,
  oursCheckpointFile,
  savedEpochs,
  uniformValues,
  type DenseValues,
} from './recreation';
export { FLOOR_MIN_TRIALS, gradaccFindings } from './findings';
export { resultFile, runGradaccExperiment, type AuthorsData, type GradaccOptions, type GradaccRun } from './runner';
