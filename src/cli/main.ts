/** The `nightshift` command line. Each command lives in commands/; this file only dispatches. */
// The AWS SDK warns on every call under Node 20 that its 2027 releases need Node 22; the
// package's engines and the image say which Node nightshift supports, so say it once there.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { errorMessage } from '../core/errors.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { didYouMean } from '../core/did-you-mean.js';

type Loaded = { run: (argv: string[]) => Promise<number>; help: string };
type Command = { load: () => Promise<Loaded>; summary: string };

// Commands are imported when used: `trigger` or `runs` need not load onnxruntime and the AWS SDK
// (a second of start-up), so a producer that cannot reach Redis fails in moments.
const commands: Record<string, Command> = {
  validate: {
    summary: 'check job specs and their models',
    load: () => import('./commands/validate.js').then((m) => ({ run: m.validateCommand, help: m.validateHelp })),
  },
  inspect: {
    summary: "a model's inputs, outputs, opsets and a model: block for a job spec",
    load: () => import('./commands/inspect.js').then((m) => ({ run: m.inspectCommand, help: m.inspectHelp })),
  },
  init: {
    summary: 'write a starter job spec from a model (and a sample of its input)',
    load: () => import('./commands/init.js').then((m) => ({ run: m.initCommand, help: m.initHelp })),
  },
  score: {
    summary: 'run a job in this process (no Redis)',
    load: () => import('./commands/score.js').then((m) => ({ run: m.scoreCommand, help: m.scoreHelp })),
  },
  worker: {
    summary: 'score shards from the queue (start many)',
    load: () => import('./commands/worker.js').then((m) => ({ run: m.workerCommand, help: m.workerHelp })),
  },
  trigger: {
    summary: 'start a run on the workers (--rerun, --wait)',
    load: () => import('./commands/trigger.js').then((m) => ({ run: m.triggerCommand, help: m.triggerHelp })),
  },
  cancel: {
    summary: 'cancel a queued or running run (nothing is published)',
    load: () => import('./commands/cancel.js').then((m) => ({ run: m.cancelCommand, help: m.cancelHelp })),
  },
  runs: { summary: 'list recent runs', load: () => import('./commands/runs.js').then((m) => ({ run: m.runsCommand, help: m.runsHelp })) },
  run: { summary: "show one run's detail", load: () => import('./commands/runs.js').then((m) => ({ run: m.runCommand, help: m.runHelp })) },
  serve: { summary: 'HTTP trigger and run status API', load: () => import('./commands/serve.js').then((m) => ({ run: m.serveCommand, help: m.serveHelp })) },
  scheduler: {
    summary: 'fire job schedules (run one or more replicas)',
    load: () => import('./commands/scheduler.js').then((m) => ({ run: m.schedulerCommand, help: m.schedulerHelp })),
  },
  schedule: {
    summary: "list jobs' next fire times and last runs",
    load: () => import('./commands/scheduler.js').then((m) => ({ run: m.scheduleCommand, help: m.scheduleHelp })),
  },
  model: {
    summary: 'model registry: register, list, show, promote, rollback, history',
    load: () => import('./commands/model.js').then((m) => ({ run: m.modelCommand, help: m.modelHelp })),
  },
  output: {
    summary: "a run's published parts (--list) or rows (--cat)",
    load: () => import('./commands/output.js').then((m) => ({ run: m.outputCommand, help: m.outputHelp })),
  },
  history: {
    summary: "a job's runs over time: rows, rejections, scores, drift (from reports)",
    load: () => import('./commands/history.js').then((m) => ({ run: m.historyCommand, help: m.historyHelp })),
  },
  profile: {
    summary: 'profile reference data into a baseline file (monitor.baseline)',
    load: () => import('./commands/profile.js').then((m) => ({ run: m.profileCommand, help: m.profileHelp })),
  },
  approve: {
    summary: 'publish a run held for approval (monitor.onDrift: hold)',
    load: () => import('./commands/decide.js').then((m) => ({ run: m.approveCommand, help: m.approveHelp })),
  },
  reject: {
    summary: 'fail a held run and remove its parts',
    load: () => import('./commands/decide.js').then((m) => ({ run: m.rejectCommand, help: m.rejectHelp })),
  },
  backfill: {
    summary: 'enqueue runs for a range of logical dates',
    load: () => import('./commands/scheduler.js').then((m) => ({ run: m.backfillCommand, help: m.backfillHelp })),
  },
};

function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `nightshift: batch scoring for ONNX models\n\nUsage: nightshift <command> [options]\n\nCommands:\n${rows.join('\n')}\n\nRun "nightshift <command> --help" for a command's options.\nExit codes: 0 ok, 1 internal failure, 2 spec/model/usage error, 3 bad data, 4 run held for approval.\n`;
}

/** The package version, read from package.json beside dist/ and src/. */
async function version(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? EXIT.ok : EXIT.spec;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`nightshift ${await version()}\n`);
    return EXIT.ok;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`nightshift: unknown command "${name}"${didYouMean(name, Object.keys(commands))}\n\n${usage()}`);
    return EXIT.spec;
  }
  const loaded = await command.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${loaded.help}\n`);
    return EXIT.ok;
  }
  try {
    return await loaded.run(rest);
  } catch (err) {
    // node:util parseArgs: an unknown flag gets the closest known one of this command.
    if ((err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'(-{1,2}[^']+)'/.exec((err as Error).message)?.[1] ?? '';
      const flags = [...loaded.help.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]);
      process.stderr.write(`nightshift ${name}: unknown option "${flag}"${didYouMean(flag, flags)}\n${loaded.help}\n`);
      return EXIT.spec;
    }
    const code = err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? EXIT.spec : exitCodeFor(err);
    process.stderr.write(`nightshift ${name}: ${errorMessage(err)}\n`);
    if (code === EXIT.internal && process.env.NIGHTSHIFT_DEBUG) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
    return code;
  }
}

// Run when executed directly (tsx src/cli/main.ts …); bin/nightshift.js imports main() instead.
if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`nightshift: ${errorMessage(err)}\n`);
      process.exitCode = EXIT.internal;
    },
  );
}
