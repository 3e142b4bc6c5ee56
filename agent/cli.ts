import { Command, CommanderError } from 'commander';
import { AGENT_VERSION } from './version.js';
import { EXIT_USAGE } from './usage-error.js';
import { exitForError } from './cli-errors.js';
import { registerArchiveCommand } from './commands/archive.js';
import { registerFetchCommand } from './commands/fetch.js';
import { registerFlowsCommand } from './commands/flows.js';
import { registerCoverageCommand } from './commands/coverage.js';
import { registerRun } from './commands/run.js';
import { registerStatus } from './commands/status.js';
import { registerVtaps } from './commands/vtaps.js';
import { registerMirror } from './commands/mirror.js';
import { registerFilter } from './commands/filter.js';

export function buildProgram(): Command {
  const program = new Command('vtap-archiver')
    .description('Archive VTAP-mirrored (VXLAN) traffic: capture, decapsulate, split by source, compress and store.')
    .version(AGENT_VERSION, '-V, --version')
    .showHelpAfterError(false)
    .exitOverride();
  registerArchiveCommand(program);
  registerFetchCommand(program);
  registerFlowsCommand(program);
  registerCoverageCommand(program);
  registerRun(program);
  registerStatus(program);
  registerVtaps(program);
  registerMirror(program);
  registerFilter(program);
  return program;
}

/** Runs the CLI and returns the exit status (0 ok, 1 runtime failure, 2 bad input or usage). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.configureOutput({ writeErr: (text) => process.stderr.write(text) });
  for (const command of program.commands) command.exitOverride();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end with exit code 0; commander has already printed the message.
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    const exit = exitForError(error);
    process.stderr.write(`vtap-archiver: ${exit.message}\n`);
    return exit.status;
  }
}
