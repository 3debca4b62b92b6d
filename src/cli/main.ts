/** The `nightshift` command line. Each command lives in commands/; this file only dispatches. */
import { errorMessage } from '../core/errors.js';
import { scoreCommand, scoreHelp } from './commands/score.js';
import { validateCommand, validateHelp } from './commands/validate.js';
import { workerCommand, workerHelp } from './commands/worker.js';
import { triggerCommand, triggerHelp } from './commands/trigger.js';
import { runCommand, runHelp, runsCommand, runsHelp } from './commands/runs.js';
import { serveCommand, serveHelp } from './commands/serve.js';
import { backfillCommand, backfillHelp, scheduleCommand, scheduleHelp, schedulerCommand, schedulerHelp } from './commands/scheduler.js';
import { EXIT, exitCodeFor } from './exit-codes.js';

type Command = { run: (argv: string[]) => Promise<number>; help: string; summary: string };

const commands: Record<string, Command> = {
  validate: { run: validateCommand, help: validateHelp, summary: 'check job specs and their models' },
  score: { run: scoreCommand, help: scoreHelp, summary: 'run a job in this process (no Redis)' },
  worker: { run: workerCommand, help: workerHelp, summary: 'score shards from the queue (start many)' },
  trigger: { run: triggerCommand, help: triggerHelp, summary: 'start a run on the workers (--rerun, --wait)' },
  runs: { run: runsCommand, help: runsHelp, summary: 'list recent runs' },
  run: { run: runCommand, help: runHelp, summary: "show one run's detail" },
  serve: { run: serveCommand, help: serveHelp, summary: 'HTTP trigger and run status API' },
  scheduler: { run: schedulerCommand, help: schedulerHelp, summary: 'fire job schedules (run one or more replicas)' },
  schedule: { run: scheduleCommand, help: scheduleHelp, summary: "list jobs' next fire times and last runs" },
  backfill: { run: backfillCommand, help: backfillHelp, summary: 'enqueue runs for a range of logical dates' },
};

function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `nightshift: batch scoring for ONNX models\n\nUsage: nightshift <command> [options]\n\nCommands:\n${rows.join('\n')}\n\nRun "nightshift <command> --help" for a command's options.\nExit codes: 0 ok, 1 internal failure, 2 spec/model/usage error, 3 bad data.\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? EXIT.ok : EXIT.spec;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`nightshift: unknown command "${name}"\n\n${usage()}`);
    return EXIT.spec;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.help}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    const code = err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? EXIT.spec : exitCodeFor(err);
    process.stderr.write(`nightshift ${name}: ${errorMessage(err)}\n`);
    if (code === EXIT.internal && process.env.NIGHTSHIFT_DEBUG) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
    return code;
  }
}

// Run when executed directly (tsx src/cli/main.ts …); bin/nightshift.js imports main() instead.
if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  }, (err: unknown) => {
    process.stderr.write(`nightshift: ${errorMessage(err)}\n`);
    process.exitCode = EXIT.internal;
  });
}
