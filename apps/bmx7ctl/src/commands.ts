/**
 * The registered bmx7ctl commands (add new ones here). A command's code is imported when it runs:
 * `bmx7ctl show …` then loads only the control client, not the dissector, the codec or the crypto
 * libraries that `dump` needs.
 */
import type { Command } from './cli.js';
import { DUMP_VERIFY_SUMMARY, DUMP_VERIFY_USAGE } from './dump-usage.js';

// `dump` with its `--verify` option (verify.ts wraps dump.ts's command).
const dump: Command = {
  name: 'dump',
  summary: DUMP_VERIFY_SUMMARY,
  usage: DUMP_VERIFY_USAGE,
  run: async (args, io) => (await import('./verify.js')).dumpVerifyCommand.run(args, io),
};

export const COMMANDS: readonly Command[] = [dump];
