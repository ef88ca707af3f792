/** The registered bmx7ctl commands (add new ones here). */
import type { Command } from './cli.js';
import { dumpCommand } from './dump.js';

export const COMMANDS: readonly Command[] = [dumpCommand];
