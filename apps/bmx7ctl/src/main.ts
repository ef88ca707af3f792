#!/usr/bin/env node
/** bmx7ctl entry point: wires process I/O to the command dispatcher (cli.ts). */
import { readFile } from 'node:fs/promises';
import { type CliIo, runCli } from './cli.js';
import { controlCommand } from './client.js';
import { COMMANDS } from './commands.js';

// A closed pipe (`bmx7ctl dump x.pcap | head`) ends the output quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

const io: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  readFile: async (path) => new Uint8Array(await readFile(path)),
};

process.exitCode = await runCli(process.argv.slice(2), io, COMMANDS, controlCommand);
