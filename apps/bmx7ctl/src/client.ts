/**
 * The control client: bmx7ctl's arguments (the reference's `-c show=originators`, `-lc status
 * links`, `-cd3`, `-c dev=eth2`, and plain `show originators`) become requests of the control
 * protocol (@bmx7/control), sent over the daemon's Unix socket `<runtimeDir>/sock`; replies are
 * printed as the reference prints them, or as JSON with `--json`.
 *
 * Two daemons answer on such a socket. bmx7d speaks the JSON protocol; the reference bmx7 only
 * its plain-text one (docs/protocol.md §5.1), and closes a connection whose request it cannot
 * parse without answering and without applying any of it. So bmx7ctl greets first with a JSON
 * `hello` alone: a JSON answer is bmx7d; a close without any byte is a reference daemon, which is
 * then asked again in plain text (legacy-client.ts). `--legacy` skips the greeting.
 *
 * Exit status: 0 ok, 1 the daemon refused a request, 2 usage error, 3 no daemon running, 4 the
 * daemon is busy. Every error is one line on stderr (a reference daemon's own error lines are
 * passed on as it wrote them).
 */
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import {
  type ControlRequest,
  CTL_USAGE,
  type CtlInvocation,
  createLineDecoder,
  decodeServerFrame,
  EXIT_BUSY,
  EXIT_OK,
  EXIT_REFUSED,
  EXIT_USAGE,
  encodeFrame,
  formatError,
  formatEvent,
  formatResultJson,
  formatResultText,
  formatTopologyDot,
  legacyRequest,
  MAX_REPLY_BYTES,
  PROTOCOL_VERSION,
  parseCtlArgs,
  type RequestBody,
} from '@bmx7/control';
import type { CliIo, Command, ExitCode } from './cli.js';
import { exchangeLegacy } from './legacy-client.js';
import { BUSY_LINE, socketErrorExit } from './socket-errors.js';

/** bmx7d's default runtime directory. */
export const DEFAULT_RUNTIME_DIR = '/run/bmx7d';
/** The reference bmx7's default runtime directory (docs/protocol.md §5.1). */
export const REFERENCE_RUNTIME_DIR = '/var/run/bmx7';

export { BUSY_LINE };

export interface ControlIo extends CliIo {
  /** Raw output without an added newline (screen clearing in loop mode). */
  write?(text: string): void;
  /** Resolves when the user interrupts (Ctrl-C): ends `-l` loops and log streams. */
  interrupted?: Promise<void>;
}

/** Where to look for a socket when no runtime directory is given. */
export interface RuntimeDirs {
  readonly bmx7d: string;
  readonly reference: string;
}

const DEFAULT_DIRS: RuntimeDirs = { bmx7d: DEFAULT_RUNTIME_DIR, reference: REFERENCE_RUNTIME_DIR };

/** The id of the greeting; requests are numbered from 1. */
const HELLO_ID = 'hello';

/** The greeting was not answered in JSON: a reference daemon is listening. */
const REFERENCE_DAEMON = Symbol('reference daemon');

/**
 * Runs one exchange in the JSON protocol: (greets,) sends every request, prints each reply (and
 * events when following). With `greet`, resolves REFERENCE_DAEMON when the daemon closes without
 * answering the greeting or answers it in anything but JSON.
 */
async function exchangeJson(
  path: string,
  requests: readonly RequestBody[],
  opts: { json: boolean; follow: boolean; greet: boolean; graph?: 'netjson' | 'dot' },
  io: ControlIo,
): Promise<number | typeof REFERENCE_DAEMON> {
  return new Promise((resolve) => {
    const sock = net.createConnection(path);
    const lines = createLineDecoder(MAX_REPLY_BYTES);
    const byId = new Map<number, RequestBody>();
    let status: number = EXIT_OK;
    let pending = requests.length;
    let greeted = !opts.greet;
    let received = 0;
    let settled = false;
    const finish = (code: number | typeof REFERENCE_DAEMON) => {
      if (settled) return;
      settled = true;
      sock.destroy();
      resolve(code);
    };
    const sendRequests = () => {
      requests.forEach((body, i) => {
        byId.set(i + 1, body);
        sock.write(encodeFrame({ id: i + 1, ...body } as ControlRequest));
      });
      if (!opts.follow) sock.end();
    };
    sock.on('connect', () => {
      if (greeted) sendRequests();
      else
        sock.write(
          encodeFrame({ id: HELLO_ID, op: 'hello', args: { protocol: PROTOCOL_VERSION, client: 'bmx7ctl' } }),
        );
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (!settled) finish(socketErrorExit(err, path, received, io));
    });
    sock.on('data', (chunk: Buffer) => {
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
      if (!greeted && received === 0) {
        const first = bytes.find((b) => b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d);
        if (first !== undefined && first !== 0x7b) {
          finish(REFERENCE_DAEMON); // text, not a JSON frame
          return;
        }
      }
      received += bytes.length;
      for (const ev of lines.push(bytes)) {
        if (settled) return;
        if (!ev.ok) {
          io.err(`bmx7ctl: bad reply from the daemon: ${ev.message}`);
          finish(EXIT_REFUSED);
          return;
        }
        if (ev.line.trim().length === 0) continue;
        const f = decodeServerFrame(ev.line);
        if (!f.ok) {
          io.err(`bmx7ctl: bad reply from the daemon: ${f.reason}`);
          finish(EXIT_REFUSED);
          return;
        }
        const frame = f.frame;
        if (frame.type === 'reply' && !frame.ok && frame.error.code === 'busy') {
          io.err(BUSY_LINE);
          finish(EXIT_BUSY);
          return;
        }
        if (!greeted) {
          // any answer to the greeting, even an error of an older bmx7d, is the JSON protocol
          greeted = true;
          sendRequests();
          continue;
        }
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
            const text =
              body.op === 'topology' && opts.graph === 'dot'
                ? formatTopologyDot(frame.result)
                : formatResultText(body, frame.result);
            if (text.length > 0) io.out(text.replace(/\n$/, ''));
          }
        }
        pending--;
        if (pending <= 0 && !opts.follow) finish(status);
        if (!frame.ok && frame.id === null && !opts.follow) finish(status); // unreadable request
      }
    });
    sock.on('close', () => {
      if (settled) return;
      if (!greeted && received === 0) {
        finish(REFERENCE_DAEMON); // closed without a byte: the reference could not parse JSON
        return;
      }
      const early = (pending > 0 || !greeted) && !opts.follow;
      if (early) io.err('bmx7ctl: the daemon closed the connection early');
      finish(early ? EXIT_REFUSED : status);
    });
    io.interrupted?.then(() => finish(status));
  });
}

type Invocation = Extract<CtlInvocation, { kind: 'request' }>;

/** The plain-text request for a reference daemon, or the usage error that prevents it. */
function legacyText(inv: Invocation): { ok: true; text: string } | { ok: false; message: string } {
  if (inv.json)
    return { ok: false, message: '--json needs bmx7d: the reference daemon answers in text only' };
  if (inv.legacyWords === undefined) {
    const op = inv.requests.find((r) => r.op === 'get') ? 'get' : inv.requests[0]?.op;
    return { ok: false, message: `${op}: the reference daemon has no such request (try -c parameters)` };
  }
  return legacyRequest(inv.legacyWords);
}

/** The runtime directory: as given, else bmx7d's, else the reference's where only its socket exists. */
function runtimeDirOf(inv: Invocation, dirs: RuntimeDirs): string {
  if (inv.runtimeDir !== undefined) return inv.runtimeDir;
  const [first, second] = inv.legacy ? [dirs.reference, dirs.bmx7d] : [dirs.bmx7d, dirs.reference];
  return !existsSync(join(first, 'sock')) && existsSync(join(second, 'sock')) ? second : first;
}

/** bmx7ctl's control client as a function (tests call it without a process). */
export async function runControl(
  argv: readonly string[],
  io: ControlIo,
  dirs: RuntimeDirs = DEFAULT_DIRS,
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
  const path = join(runtimeDirOf(inv, dirs), 'sock');
  let legacy: string | undefined;
  if (inv.legacy) {
    const t = legacyText(inv);
    if (!t.ok) {
      io.err(`bmx7ctl: ${t.message}`);
      return EXIT_USAGE;
    }
    legacy = t.text;
  }
  // found out once: a loop keeps talking to the same daemon
  const once = async (): Promise<number> => {
    if (legacy === undefined) {
      const opts = {
        json: inv.json,
        follow: inv.follow,
        greet: true,
        ...(inv.graph ? { graph: inv.graph } : {}),
      };
      const r = await exchangeJson(path, inv.requests, opts, io);
      if (r !== REFERENCE_DAEMON) return r;
      const t = legacyText(inv);
      if (!t.ok) {
        io.err(`bmx7ctl: ${t.message}`);
        return EXIT_USAGE;
      }
      legacy = t.text;
    }
    return exchangeLegacy(path, legacy, { follow: inv.follow }, io);
  };
  if (inv.loop === undefined) return once();
  let stop = false;
  void io.interrupted?.then(() => {
    stop = true;
  });
  for (;;) {
    io.write?.('\x1b[2J\x1b[H');
    const code = await once();
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
  summary: 'talk to the running bmx7d or reference bmx7 (show TABLE, set OPTION…, log LEVEL, -c …)',
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
