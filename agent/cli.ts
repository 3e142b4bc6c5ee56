/**
 * agent/cli.ts and agent/commands/: the CLI. Each file in commands/ registers one command, parses
 * and checks its flags (bad input: one line, exit 2) and calls into the layers below; no other
 * folder imports commands/, and commands hold no packet, store or spool logic of their own.
 */
import { Command, CommanderError } from 'commander';
import { AGENT_VERSION } from './version.js';
import { EXIT_USAGE } from './usage-error.js';
import { exitForError } from './cli-errors.js';

type Register = (program: Command) => void;

/**
 * Each command's module, loaded only when that command runs: the commands together pull in zod,
 * yaml, the OCI SDK and ~80 modules, about 0.3 s of CPU before `archive` reads its first packet.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  archive: async () => (await import('./commands/archive.js')).registerArchiveCommand,
  fetch: async () => (await import('./commands/fetch.js')).registerFetchCommand,
  flows: async () => (await import('./commands/flows.js')).registerFlowsCommand,
  coverage: async () => (await import('./commands/coverage.js')).registerCoverageCommand,
  run: async () => (await import('./commands/run.js')).registerRun,
  status: async () => (await import('./commands/status.js')).registerStatus,
  vtaps: async () => (await import('./commands/vtaps.js')).registerVtaps,
  mirror: async () => (await import('./commands/mirror.js')).registerMirror,
  filter: async () => (await import('./commands/filter.js')).registerFilter,
};

/** The command `argv` names (`help <command>` included), or undefined for top-level help, --version or a typo. */
function commandNamed(argv: string[]): string | undefined {
  const words = argv.slice(2).filter((arg) => !arg.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  return name !== undefined && Object.hasOwn(COMMANDS, name) ? name : undefined;
}

/** The program with the command `argv` runs, or with all of them (top-level help lists them, typos get suggestions). */
export async function buildProgram(argv: string[] = []): Promise<Command> {
  const program = new Command('vtap-archiver')
    .description('Archive VTAP-mirrored (VXLAN) traffic: capture, decapsulate, split by source, compress and store.')
    .version(AGENT_VERSION, '-V, --version')
    .showHelpAfterError(false)
    .exitOverride();
  const only = commandNamed(argv);
  const names = only ? [only] : Object.keys(COMMANDS);
  for (const register of await Promise.all(names.map((name) => COMMANDS[name]!()))) register(program);
  return program;
}

/** Runs the CLI and returns the exit status (0 ok, 1 runtime failure, 2 bad input or usage). */
export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
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
