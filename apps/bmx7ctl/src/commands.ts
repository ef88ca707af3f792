/** The registered bmx7ctl commands (add new ones here). */
import type { Command } from './cli.js';
import { dumpVerifyCommand } from './verify.js';

// `dump` with its `--verify` option (verify.ts wraps dump.ts's command).
export const COMMANDS: readonly Command[] = [dumpVerifyCommand];
