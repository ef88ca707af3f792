#!/usr/bin/env node
/**
 * bmx7ctl entry point: wires process I/O to the command dispatcher (cli.ts). `--version` prints
 * `bmx7ctl <version>`. Kept light: a command's code loads when it runs (commands.ts).
 */
import { readFile } from 'node:fs/promises';
import { type CliIo, runCli } from './cli.js';
import { controlCommand } from './client.js';
import { COMMANDS } from './commands.js';
import { version } from './version.js';

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

const argv = process.argv.slice(2);
// no top-level await: the bundle is a CommonJS file
if (argv.includes('--version')) io.out(`bmx7ctl ${version()}`);
else
  void runCli(argv, io, COMMANDS, controlCommand).then((code) => {
    process.exitCode = code;
  });
