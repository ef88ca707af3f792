/**
 * The bmx7ctl command dispatcher. A command is a name, a one-line summary, a usage text and a
 * `run(args, io)` that returns the exit code. Commands get their I/O through `CliIo`, so tests
 * run them as functions without spawning a process.
 *
 * Extending: add a Command to COMMANDS (commands.ts). Arguments that do not start with a
 * command name go to the default command when one is given (the control client, which speaks the
 * reference's `-c show=originators` syntax, plugs in there).
 */

/** Exit codes of every bmx7ctl command (NO_DAEMON and BUSY only from the control client). */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2, NO_DAEMON: 3, BUSY: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface CliIo {
  /** Writes one line to standard output. */
  out(line: string): void;
  /** Writes one line to standard error. */
  err(line: string): void;
  /** Reads a whole file. */
  readFile(path: string): Promise<Uint8Array>;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  run(args: readonly string[], io: CliIo): Promise<ExitCode>;
}

/** Thrown by argument parsing; reported as a usage error (exit 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'ERR_USAGE';
}

/** The overview `--help` prints: the default command's usage (if any), then the other commands. */
export function usageText(commands: readonly Command[], defaultCommand?: Command): string {
  const w = Math.max(...commands.map((c) => c.name.length));
  const head = defaultCommand
    ? [defaultCommand.usage, '', 'other commands:']
    : ['usage: bmx7ctl <command> [arguments]', '', 'commands:'];
  return [
    ...head,
    ...commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    "run 'bmx7ctl help <command>' for a command's arguments; 'bmx7ctl --version' prints the version",
  ].join('\n');
}

/** Runs bmx7ctl with the given arguments (without `node` and the script path). */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  commands: readonly Command[],
  defaultCommand?: Command,
): Promise<ExitCode> {
  const [first, ...rest] = argv;
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    const topic = first === 'help' ? commands.find((c) => c.name === rest[0]) : undefined;
    if (topic) {
      io.out(topic.usage);
      return EXIT.OK;
    }
    if (first === undefined && defaultCommand) return run(defaultCommand, argv, io);
    (first === undefined ? io.err : io.out)(usageText(commands, defaultCommand));
    return first === undefined ? EXIT.USAGE : EXIT.OK;
  }
  const cmd = commands.find((c) => c.name === first);
  if (cmd) return run(cmd, rest, io);
  if (defaultCommand) return run(defaultCommand, argv, io);
  io.err(`bmx7ctl: unknown command '${first}'`);
  io.err(usageText(commands, defaultCommand));
  return EXIT.USAGE;
}

async function run(cmd: Command, args: readonly string[], io: CliIo): Promise<ExitCode> {
  try {
    return await cmd.run(args, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`bmx7ctl ${cmd.name}: ${e.message}`);
      io.err(cmd.usage);
      return EXIT.USAGE;
    }
    throw e;
  }
}
