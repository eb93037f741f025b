// `sbn`: the headless face of SBN Studio. Every command reports which backend runs; results go to stdout,
// logs to stderr; bad input exits with code 2 and one line naming the file and the field.
import { Command, CommanderError, Option } from 'commander';
import { asUserError, cliMessage, oneLine } from './errors';
import { estimatorList } from '../estimators';
import { DEFAULT_GUMBEL_RAO_K } from '../engine/spec/model';
import { err, out, processOutput, withOutput, type CliOutput } from './io';
import { gradCommand } from './commands/grad';
import { gradevalCommand, PAPER_ESTIMATORS } from './commands/gradeval';
import { DEFAULT_REFERENCE_MAX_DRAWS, DEFAULT_REFERENCE_TARGET_ERROR } from '../engine/gradients/reference';
import { trainCommand } from './commands/train';
import { evalCommand } from './commands/eval';
import { experimentGradaccCommand } from './commands/experimentGradacc';
import { experimentTrainCommand, SUITE_NAMES } from './commands/experimentTrain';
import { experimentBiasCommand } from './commands/experimentBias';
import {
  DEFAULT_BIAS_DRAWS,
  DEFAULT_BIAS_EXAMPLES,
  DEFAULT_BIAS_METHODS,
  DEFAULT_BIAS_REFERENCE_DRAWS,
  DEFAULT_BIAS_REFERENCE_ERROR,
} from '../engine/experiments/suiteBias';
import { dataFetchCommand, dataListCommand } from './commands/data';
import { doctorCommand } from './commands/doctor';
import { setupBackendCommand } from './commands/setup';
import { sweepCommand, sweepReportCommand } from './commands/sweep';
import { workerCommand } from './commands/worker';
import { runSetCommand } from './commands/run';
import {
  exportOnnxCommand,
  exportSafetensorsCommand,
  exportTensorBoardCommand,
  inspectCommand,
} from './commands/export';
import { REDIS_PASSWORD_ENV } from '../engine/sweeps/queue';
import { commandLine, STARTED_BY_ENV } from '../engine/provenance';
import { DEFAULT_ONNX_SAMPLES } from '../engine/export/onnx';

const program = new Command();
const backendOption = () =>
  new Option('--backend <name>', 'tensor backend: tensorflow, wasm or cpu (default: best available, or $SBN_BACKEND)');

program
  .name('sbn')
  .description('Train and diagnose stochastic binary networks (PSA, DSTE and the baseline gradient estimators).')
  .version(process.env.SBN_VERSION ?? '0.1.0')
  .showHelpAfterError(false)
  .exitOverride()
  .configureOutput({ writeErr: () => undefined });

program
  .command('grad')
  .description(
    'Draw gradient estimates of one estimator; print their mean and standard deviation per parameter as JSON',
  )
  .argument('<model-file>', 'model file (*.sbn.json or *.sbn.yaml)')
  .requiredOption(
    '--params <params.json>',
    'parameters {"layers": [{"weight": [[...]], "bias": [...]}, ...]}; file.json#key picks checkpoints[key]',
  )
  .requiredOption('--data <data.json>', 'data {"X": [[...], ...], "Y": [...]}')
  .requiredOption('--estimator <name>', estimatorList())
  .option('--draws <N>', 'number of independent draws', '1')
  .option('--seed <S>', 'random seed', '1')
  .option('--tau <T>', 'temperature τ in σ((a − z)/τ) of concrete, gumbel-st and gumbel-rao', '1')
  .option('--k <K>', 'gumbel-rao: conditional noise draws per unit', String(DEFAULT_GUMBEL_RAO_K))
  .option(
    '--baseline <B>',
    'reinforce control variate: none, mean (running mean), loo (leave-one-out over draws) or input (learned, NVIL)',
    'none',
  )
  .addOption(backendOption())
  .action(gradCommand);

program
  .command('gradeval')
  .description(
    "Gradient accuracy vs the exact gradient (the paper's Experiment 1), or vs the sampled reference where " +
      'enumeration does not fit: cosine and relative RMSE per layer for averages of M draws',
  )
  .argument('<model-file>', 'model file (*.sbn.json or *.sbn.yaml)')
  .requiredOption('--params <params.json>', 'parameters; file.json#key picks checkpoints[key]')
  .requiredOption('--data <data.json>', 'data {"X": [[...], ...], "Y": [...]}')
  .option(
    '--estimators <list>',
    'comma-separated; concrete:<tau>, gumbel-st:<tau>, gumbel-rao:<k>, reinforce:<baseline>',
    PAPER_ESTIMATORS,
  )
  .option('--draws <N>', 'single-draw estimates per estimator', '20000')
  .option('--m <list>', 'values of M (default: the 36 values of the paper up to draws/2)')
  .option('--seed <S>', 'random seed', '1')
  .option('--out <file.json>', 'where to write the full results (default: sbn-gradeval/<model>-<time>.json)')
  .option('--reference <curves.json#checkpoint>', "compare with the authors' curves, e.g. gradacc_curves.json#chk-100")
  .option(
    '--reference-error <e>',
    'where enumeration does not fit: target relative standard error of the sampled reference per layer',
    String(DEFAULT_REFERENCE_TARGET_ERROR),
  )
  .option(
    '--reference-draws <N>',
    'where enumeration does not fit: most draws of the sampled reference',
    String(DEFAULT_REFERENCE_MAX_DRAWS),
  )
  .addOption(backendOption())
  .action(gradevalCommand);

program
  .command('train')
  .description('Train a model file (its data and train sections); progress bar, Ctrl-C stops cleanly with a checkpoint')
  .argument('[model-file]', 'model file (*.sbn.json or *.sbn.yaml) with data and train sections')
  .option('--epochs <N>', 'override train.epochs (with --resume: train until this many epochs)')
  .option('--estimator <name>', 'override train.estimator (any but exact, or auto)')
  .option('--lr <lr>', 'override train.lr: a number or "search"')
  .option('--batch-size <N>', 'override train.batchSize')
  .option('--samples <N>', 'override train.samples (noise samples per example per step)')
  .option('--seed <S>', 'override train.seed')
  .option('--out <dir>', 'folder that holds the run folders', 'runs')
  .option('--resume <run>', 'continue a stopped or crashed run folder from its newest valid checkpoint')
  .option(
    '--start-over',
    'with --resume: when the run has checkpoints but none is valid, ' +
      'train it again from step 0 in the same folder (otherwise refused)',
  )
  .option('--no-progress', 'log lines instead of a progress bar')
  .addOption(backendOption())
  .action(trainCommand);

program
  .command('eval')
  .description(
    'Accuracy of a trained run as an SBN, as a function of the number of samples averaged (docs/math.md §4.7)',
  )
  .argument('<run>', 'run folder')
  .option('--samples <N>', 'largest number of samples', '32')
  .option('--split <name>', 'test, validation or train', 'test')
  .option('--checkpoint <which>', '"latest" or an epoch number', 'latest')
  .option('--seed <S>', 'random seed', '1')
  .addOption(backendOption())
  .action(evalCommand);

// `sbn export`: a run in formats other tools read (docs/run-format.md).
const exportCmd = program
  .command('export')
  .description('Write a run in formats other tools read: TensorBoard event files, safetensors, ONNX');
exportCmd
  .command('tensorboard')
  .description("Write a run's TensorBoard event files (tensorboard/ in the run folder) from its metrics.jsonl")
  .argument('<run>', 'run folder')
  .action(exportTensorBoardCommand);
exportCmd
  .command('safetensors')
  .description("Write a run's parameters (or a checkpoint file's) as safetensors, with the model file as metadata")
  .argument('<run>', 'run folder or checkpoint file')
  .requiredOption('--out <file>', 'the .safetensors file to write')
  .option('--checkpoint <which>', '"latest" or an epoch number (run folders)', 'latest')
  .action(exportSafetensorsCommand);
exportCmd
  .command('onnx')
  .description('Write a trained SBN as an ONNX model (opset 17) that classifies as SBN Studio does')
  .argument('<run>', 'run folder (or a checkpoint file inside one)')
  .requiredOption('--out <file>', 'the .onnx file to write')
  .option(
    '--mode <mode>',
    'mean-field (deterministic), sample (one stochastic pass, noise as an input) or ensemble (mean of K samples)',
    'mean-field',
  )
  .option('--samples <K>', `ensemble: samples averaged (default ${DEFAULT_ONNX_SAMPLES})`)
  .option('--checkpoint <which>', '"latest" or an epoch number (run folders)', 'latest')
  .action(exportOnnxCommand);
program
  .command('inspect')
  .description(
    'What a checkpoint holds (layers, shapes, parameter statistics, step, RNG, optimizer) and, for a run, ' +
      'what it was trained with and where it came from',
  )
  .argument('<run-or-checkpoint>', 'run folder or checkpoint file')
  .option('--checkpoint <which>', '"latest" or an epoch number (run folders)', 'latest')
  .option('--json', 'print one JSON object')
  .action(inspectCommand);

const experiment = program
  .command('experiment')
  .description("Reproduce the paper's experiments end to end and write reports (HTML, JSON, PNG figures)");

// Experiment 1 (docs/math.md §3): gradient accuracy of the paper's seven estimators and the seven since, 5-5-5 net.
experiment
  .command('gradacc')
  .description(
    "Experiment 1 (docs/math.md §3): gradient accuracy vs M on the authors' checkpoints " +
      'and on our re-created chk-1/100/2000',
  )
  .option('--out <dir>', 'folder for gradacc.json, report.html and the figures', 'experiments/gradacc')
  .option('--draws <N>', 'single-draw estimates per estimator and checkpoint', '20000')
  .option('--seed <S>', 'random seed', '1')
  .option(
    '--epochs <N>',
    'epochs of the REINFORCE training that re-creates the checkpoints (docs/math.md §3.2)',
    '2000',
  )
  .option(
    '--authors <dir>',
    "folder with the authors' gradeval_checkpoints.json and gradacc_curves.json " +
      '(default: reference/authors-psa-neurips2020 in the package)',
  )
  .option('--no-png', 'skip the PNG figures (they need Chromium)')
  .addOption(backendOption())
  .action(experimentGradaccCommand);

// Experiment 2 (docs/math.md §4): train one model with each method of §4.3 and evaluate all as true SBNs.
experiment
  .command('train')
  .description(
    'Experiment 2 (docs/math.md §4): train a suite with the eight methods of §4.3 (lr search each), ' +
      'evaluate as SBNs, report',
  )
  .requiredOption('--suite <name>', `one of ${SUITE_NAMES.join(', ')}`)
  .option('--out <dir>', 'suite folder (default experiments/<suite>); an existing one is resumed')
  .option('--methods <list>', 'comma-separated subset of the methods (default: all eight)')
  .option('--epochs <N>', "override the suite's training epochs")
  .option(
    '--data <path>',
    'cifar10-s1: folder of the CIFAR-10 binary batches (data_batch_*.bin, test_batch.bin); ' +
      "default: the data-set store's",
  )
  .option('--limit <N>', 'use only the first N training examples (quick runs)')
  .option('--no-png', 'skip the PNG figures (they need Chromium)')
  .option('--jobs <N>', 'worker processes on this machine for the methods and seeds (1: this process)', '1')
  .option('--seeds <N>', "train every method with seeds 1..N (2..N at the rate seed 1's search chose)", '1')
  .option('--queue <url>', 'put the runs on a Redis queue for `sbn worker` on any machine: redis://HOST:PORT[/DB]')
  .addOption(backendOption())
  .action(experimentTrainCommand);
// Per-layer bias of a suite's estimators at init and at the end of training (src/engine/experiments/suiteBias.ts).
experiment
  .command('bias')
  .description(
    "Per-layer bias of a suite's estimators against the diagnostics reference, at initialisation and at the end " +
      'of seed 1; into bias.json and the report',
  )
  .requiredOption('--suite <name>', `one of ${SUITE_NAMES.join(', ')}`)
  .option('--out <dir>', 'the suite folder (default experiments/<suite>)')
  .option('--methods <list>', 'comma-separated methods of the suite', DEFAULT_BIAS_METHODS.join(','))
  .option('--draws <N>', "draws of each method's estimator", String(DEFAULT_BIAS_DRAWS))
  .option('--examples <N>', 'the first N training examples the gradients are on', String(DEFAULT_BIAS_EXAMPLES))
  .option(
    '--reference-draws <N>',
    'most local-expectation draws of the reference',
    String(DEFAULT_BIAS_REFERENCE_DRAWS),
  )
  .option(
    '--reference-error <e>',
    "the reference's target relative standard error",
    String(DEFAULT_BIAS_REFERENCE_ERROR),
  )
  .option('--seed <S>', 'random seed of the draws', '1')
  .option('--data <path>', 'as given to `sbn experiment train` (cifar10-s1)')
  .option('--limit <N>', 'as given to `sbn experiment train`')
  .option('--no-png', 'skip the PNG figures (they need Chromium)')
  .addOption(backendOption())
  .action(experimentBiasCommand);

// `sbn sweep`: a grid of a model file's fields × seeds, run by N worker processes (docs/sweeps.md).
const sweep = program
  .command('sweep')
  .description('Train a sweep file (grid × seeds) in a sweep folder with N worker processes; report mean and 95 % CI')
  .argument('[sweep-file]', 'sweep file (*.sbn-sweep.yaml or *.sbn-sweep.json)')
  .option('--out <dir>', 'the sweep folder to make (default sweeps/<name>-<time>)')
  .option('--jobs <N>', 'worker processes on this machine', '1')
  .option('--resume <sweep>', 'continue a sweep folder: runs what is not finished or failed, resuming run folders')
  .addOption(backendOption())
  .action(sweepCommand);
sweep
  .command('report')
  .description('Write the report of a sweep folder (JSON, CSV, HTML): per point mean, sd and 95 % CI over seeds')
  .argument('<sweep>', 'sweep folder')
  .option('--out <dir>', 'folder for sweep-report.{json,csv,html} (default: the sweep folder)')
  .action(sweepReportCommand);
// `sbn worker`: takes sweep points from a BullMQ queue in Redis (src/engine/sweeps/queue.ts, docs/sweeps.md).
program
  .command('worker')
  .description('Take sweep points from a Redis queue (sbn sweep --queue) and train them until stopped (Ctrl-C)')
  .requiredOption(
    '--queue <url>',
    `redis://HOST:PORT[/DB] or rediss:// (TLS); the password in the URL or in $${REDIS_PASSWORD_ENV}`,
  )
  .option('--concurrency <K>', 'points trained at once on this machine (one process each)', '1')
  .addOption(backendOption())
  .action(workerCommand);

// `sbn run set`: a run's display name, tags and notes (meta.json in the run folder, docs/run-format.md).
program
  .command('run')
  .description("A run folder's display name, tags and notes")
  .command('set')
  .description("Set a run's display name, tags and notes; without a change, print them")
  .argument('<run-folder>', 'the run folder (runs/<date>-<time>-<name>)')
  .option('--name <text>', 'display name shown instead of the folder name')
  .option('--clear-name', 'remove the display name')
  .option('--tags <list>', 'replace the tags with these (comma-separated; "" removes all)')
  .option('--tag <tag...>', 'add tags')
  .option('--untag <tag...>', 'remove tags')
  .option('--notes <text>', 'replace the notes ("" removes them)')
  .option('--notes-file <file>', 'replace the notes with the text of a file')
  .option('--json', 'print the result as one JSON object')
  .action(runSetCommand);

// `sbn doctor`: the environment report; `sbn data`: the built-in data sets (src/engine/data/store.ts).
program
  .command('doctor')
  .description(
    'The environment: Node.js, each backend and why it loads or not, native kernels, GPUs, data sets, runs folder',
  )
  .option('--json', 'print one JSON object (for bug reports)')
  .option('--runs <dir>', 'runs folder to report on', 'runs')
  .option('--timeout <seconds>', 'how long each backend may take to load', '60')
  .addOption(backendOption())
  .action(doctorCommand);

const data = program
  .command('data')
  .description('The built-in data sets: download them into the data-set store, list where they are found');
data
  .command('fetch')
  .description('Download mnist, fashion-mnist or cifar10 into the data-set store (checksummed; run again to resume)')
  .argument('<name>', 'mnist, fashion-mnist or cifar10')
  .option('--dir <dir>', 'data-set store to download into (default: $SBN_DATA_DIR, else the per-user data folder)')
  .option(
    '--mirror <url>',
    'base URL of another host with the same files (default: $SBN_DATA_MIRROR, else the canonical host)',
  )
  .action(dataFetchCommand);
data
  .command('list')
  .description('Where each built-in data set is found, in the order the engine looks')
  .option('--dir <dir>', 'a data-set store to search first (as $SBN_DATA_DIR)')
  .option('--json', 'print one JSON object')
  .action(dataListCommand);

program
  .command('setup')
  .description('Set up optional parts of SBN Studio on this machine')
  .command('backend')
  .description('Build the native backend (tfjs-node binding + PSA kernels against libtensorflow) into a set-up folder')
  .option(
    '--dir <dir>',
    'set-up folder (default: $SBN_NATIVE_DIR, else native-<platform>-<arch> in the user cache dir)',
  )
  .option(
    '--libtensorflow <path>',
    'an existing libtensorflow folder (lib/libtensorflow*.so*, include/) instead of the pip wheel ' +
      '(default: $SBN_LIBTENSORFLOW)',
  )
  .option(
    '--gpu',
    'a CUDA build: the `tensorflow` wheel with the CUDA libraries of tensorflow[and-cuda], or a GPU --libtensorflow',
  )
  .option('--force', 'compile again even when a binding for this libtensorflow was compiled before')
  .option('--verbose', 'print the build log (it is always written to setup.log in the folder)')
  .action(setupBackendCommand);

/**
 * Commander keeps the option values of a parse on the command objects: put every command back to its defaults, so
 * that one process can run the CLI many times (runCli in tests). Values without a default are removed.
 */
function resetOptions(cmd: Command): void {
  const values = cmd.opts();
  for (const key of Object.keys(values)) delete values[key];
  for (const option of cmd.options) {
    const name = option.attributeName();
    if (option.negate) {
      // `--no-x` without a `--x`: the value is true unless given (commander's own rule)
      if (!cmd.options.some((o) => !o.negate && o.attributeName() === name))
        cmd.setOptionValueWithSource(name, option.defaultValue ?? true, 'default');
    } else if (option.defaultValue !== undefined) {
      cmd.setOptionValueWithSource(name, option.defaultValue, 'default');
    }
  }
  cmd.commands.forEach(resetOptions);
}

/**
 * Runs `sbn` with `args` (the words after `sbn`) and returns the exit code: 0, 2 for input the user can fix (one
 * line on stderr: file or flag, what is wrong, what to do), 1 for anything else. Output goes to `output`.
 */
export async function runCli(args: readonly string[], output: CliOutput = processOutput): Promise<number> {
  return withOutput(output, async () => {
    if (args.length === 0) {
      out(program.helpInformation());
      return 0;
    }
    resetOptions(program);
    // the runs this command (and the worker processes it starts) creates record how they were started
    process.env[STARTED_BY_ENV] = `sbn ${commandLine(args)} (in ${process.cwd()})`;
    // what commander writes to stderr is kept back: the CLI prints its errors itself, one line each
    let errText = '';
    program.configureOutput({
      writeOut: (text) => out(text),
      writeErr: (text) => {
        errText += text;
      },
    });
    try {
      await program.parseAsync(['node', 'sbn', ...args]);
      return 0;
    } catch (e) {
      if (e instanceof CommanderError) {
        if (e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
        // a command that needs a subcommand (`sbn run`, `sbn data`) was given none: its help, as a usage error
        if (e.code === 'commander.help') {
          err(errText);
          return 2;
        }
        err(`sbn: ${oneLine(e.message.replace(/^error: /, ''))}\n`);
        return 2;
      }
      const known = asUserError(e);
      if (known) {
        err(`sbn: ${oneLine(cliMessage(known.message))}\n`);
        return known.exitCode;
      }
      const error = e as Error;
      err(
        `sbn: internal error: ${oneLine(cliMessage(error?.message ?? String(e)))}` +
          `${process.env.SBN_DEBUG ? `\n${error?.stack}` : ' (set SBN_DEBUG=1 for details)'}\n`,
      );
      return 1;
    }
  });
}
