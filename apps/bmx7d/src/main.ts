#!/usr/bin/env node
/**
 * bmx7d: the BMX7 mesh routing daemon. Runs in the foreground (as systemd expects), logs to
 * stderr. Exit status: 0 after a clean stop, 2 for a bad option or config file (nothing on the
 * system was changed), 1 when it cannot start (another daemon on the runtime directory, no
 * permission, …). `--version` prints `bmx7d <version>`.
 */
import { hostname } from 'node:os';
import { OptionError, renderHelp } from '@bmx7/control';
import { startDaemon } from './daemon.js';
import { daemonOptionTable, parseStartArgs, START_OPTIONS, settingsOf } from './options.js';
import { BUILTIN_PLUGINS, checkPluginSettings } from './plugins.js';
import { VERSION } from './version.js';

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--version')) {
    process.stdout.write(`bmx7d ${VERSION}\n`);
    return 0;
  }
  let start: ReturnType<typeof parseStartArgs>;
  let settings: ReturnType<typeof settingsOf>;
  const plugins = BUILTIN_PLUGINS;
  try {
    start = parseStartArgs(argv, undefined, daemonOptionTable(plugins));
    if (start.help) {
      process.stdout.write(
        renderHelp(start.table, { program: 'bmx7d', programOptions: START_OPTIONS, ...start.helpOptions }),
      );
      return 0;
    }
    settings = settingsOf(start.state, { hostname: hostname() });
    checkPluginSettings(start.state, plugins);
  } catch (e) {
    if (e instanceof OptionError) {
      process.stderr.write(`bmx7d: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  try {
    const d = await startDaemon(start, settings, plugins);
    return await d.done;
  } catch (e) {
    process.stderr.write(`bmx7d: ${(e as Error).message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // stray handles (a dgram socket closing) must not keep a stopped daemon alive
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err) => {
    process.stderr.write(`bmx7d: internal error: ${String(err?.stack ?? err)}\n`);
    process.exit(1);
  },
);
