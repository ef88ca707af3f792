/**
 * The control client: bmx7ctl's arguments (the reference's `-c show=originators`, `-lc status
 * links`, `-cd3`, `-c dev=eth2`, and plain `show originators`) become requests of the control
 * protocol (@bmx7/control), sent over the daemon's Unix socket `<runtimeDir>/sock`; replies are
 * printed as the reference prints them, or as JSON with `--json`.
 *
 * Exit status: 0 ok, 1 the daemon refused a request, 2 usage error, 3 no daemon running. Every
 * error is one line on stderr.
 */
import net from 'node:net';
import { join } from 'node:path';
import {
  type ControlRequest,
  CTL_USAGE,
  createLineDecoder,
  decodeServerFrame,
  EXIT_NO_DAEMON,
  EXIT_OK,
  EXIT_REFUSED,
  EXIT_USAGE,
  encodeFrame,
  formatError,
  formatEvent,
  formatResultJson,
  formatResultText,
  MAX_REPLY_BYTES,
  parseCtlArgs,
  type RequestBody,
} from '@bmx7/control';
import type { CliIo, Command, ExitCode } from './cli.js';

/** bmx7d's default runtime directory (the reference's is /var/run/bmx7). */
export const DEFAULT_RUNTIME_DIR = '/run/bmx7d';

export interface ControlIo extends CliIo {
  /** Raw output without an added newline (screen clearing in loop mode). */
  write?(text: string): void;
  /** Resolves when the user interrupts (Ctrl-C): ends `-l` loops and log streams. */
  interrupted?: Promise<void>;
}

const noDaemonCodes = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTDIR', 'ENOTSOCK']);

/** Runs one exchange: connects, sends every request, prints each reply (and events when following). */
async function exchange(
  path: string,
  requests: readonly RequestBody[],
  opts: { json: boolean; follow: boolean },
  io: ControlIo,
): Promise<number> {
  return new Promise<number>((resolve) => {
    const sock = net.createConnection(path);
    const lines = createLineDecoder(MAX_REPLY_BYTES);
    const byId = new Map<number, RequestBody>();
    let status: number = EXIT_OK;
    let pending = requests.length;
    let settled = false;
    const finish = (code: number) => {
      if (settled) return;
      settled = true;
      sock.destroy();
      resolve(code);
    };
    sock.on('connect', () => {
      requests.forEach((body, i) => {
        byId.set(i + 1, body);
        sock.write(encodeFrame({ id: i + 1, ...body } as ControlRequest));
      });
      if (!opts.follow) sock.end();
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      if (noDaemonCodes.has(err.code ?? '')) {
        io.err(`bmx7ctl: no daemon running (no control socket at ${path})`);
        finish(EXIT_NO_DAEMON);
      } else {
        io.err(`bmx7ctl: control socket ${path}: ${err.code ?? err.message}`);
        finish(err.code === 'EACCES' ? EXIT_NO_DAEMON : EXIT_REFUSED);
      }
    });
    sock.on('data', (chunk: Buffer) => {
      for (const ev of lines.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length))) {
        if (!ev.ok) {
          io.err(`bmx7ctl: bad reply from the daemon: ${ev.message}`);
          finish(EXIT_REFUSED);
          return;
        }
        const f = decodeServerFrame(ev.line);
        if (!f.ok) {
          io.err(`bmx7ctl: bad reply from the daemon: ${f.reason}`);
          finish(EXIT_REFUSED);
          return;
        }
        const frame = f.frame;
        if (frame.type === 'event') {
          if (opts.json) io.out(JSON.stringify(frame));
          else io.out(formatEvent(frame).replace(/\n$/, ''));
          continue;
        }
        const body = typeof frame.id === 'number' ? byId.get(frame.id) : undefined;
        if (!frame.ok) {
          io.err(formatError(frame.error).replace(/\n$/, ''));
          status = EXIT_REFUSED;
        } else if (body) {
          if (opts.json) io.out(JSON.stringify(formatResultJson(body, frame.result), null, 2));
          else {
            const text = formatResultText(body, frame.result);
            if (text.length > 0) io.out(text.replace(/\n$/, ''));
          }
        }
        pending--;
        if (pending <= 0 && !opts.follow) finish(status);
        if (!frame.ok && frame.id === null && !opts.follow) finish(status); // busy or unreadable
      }
    });
    sock.on('close', () => {
      if (!settled && pending > 0 && !opts.follow) io.err('bmx7ctl: the daemon closed the connection early');
      finish(pending > 0 && !opts.follow ? EXIT_REFUSED : status);
    });
    io.interrupted?.then(() => finish(status));
  });
}

/** bmx7ctl's control client as a function (tests call it without a process). */
export async function runControl(
  argv: readonly string[],
  io: ControlIo,
  defaultRuntimeDir = DEFAULT_RUNTIME_DIR,
): Promise<number> {
  const inv = parseCtlArgs(argv);
  switch (inv.kind) {
    case 'usage-error':
      io.err(`bmx7ctl: ${inv.message}`);
      return EXIT_USAGE;
    case 'help':
      io.out(inv.text);
      return EXIT_OK;
    case 'dump':
      io.err('bmx7ctl: dump takes capture files: bmx7ctl dump FILE');
      return EXIT_USAGE;
  }
  const path = join(inv.runtimeDir ?? defaultRuntimeDir, 'sock');
  const opts = { json: inv.json, follow: inv.follow };
  if (inv.loop === undefined) return exchange(path, inv.requests, opts, io);
  let stop = false;
  void io.interrupted?.then(() => {
    stop = true;
  });
  for (;;) {
    io.write?.('\x1b[2J\x1b[H');
    const code = await exchange(path, inv.requests, opts, io);
    if (code !== EXIT_OK || stop) return code;
    await new Promise<void>((r) => {
      const t = setTimeout(r, inv.loop);
      void io.interrupted?.then(() => {
        clearTimeout(t);
        r();
      });
    });
    if (stop) return EXIT_OK;
  }
}

/** The control client as bmx7ctl's default command (arguments that are not another command). */
export const controlCommand: Command = {
  name: 'control',
  summary: 'talk to the running bmx7d (show TABLE, set OPTION…, log LEVEL, -c … as the reference)',
  usage: CTL_USAGE,
  run: async (args, io) => (await runControl(args, { ...io, ...interruptible() })) as ExitCode,
};

function interruptible(): Pick<ControlIo, 'interrupted' | 'write'> {
  return {
    interrupted: new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
    }),
    write: (t) => process.stdout.write(t),
  };
}
