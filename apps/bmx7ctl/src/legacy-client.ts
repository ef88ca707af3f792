/**
 * The reference's plain-text control protocol, client side (docs/protocol.md §5.1), as the
 * reference's own `bmx7 -c …` speaks it: one write of the words and " #", the write side kept
 * open (the reference ends a connection whose peer closed, which would cut a `-cd3` log stream
 * short), then everything up to the "$" that ends the answer.
 *
 * An answer ended by "$" is printed on stdout as the daemon wrote it (its tables as they are);
 * `ERROR …` lines go to stderr and make the exit status 1. A close without "$" is a refusal: the
 * reference wrote its reasons first, and they go to stderr (exit 1). A log stream (`-cd3`) is
 * printed on stdout line by line as it arrives (its ERROR lines are log lines), until the daemon
 * closes or the user interrupts (exit 0).
 */
import net from 'node:net';
import {
  createLegacyAnswerReader,
  EXIT_BUSY,
  EXIT_OK,
  EXIT_REFUSED,
  legacyOutcome,
  MAX_REPLY_BYTES,
} from '@bmx7/control';
import type { ControlIo } from './client.js';
import { BUSY_LINE, socketErrorExit } from './socket-errors.js';

const REFUSED_SILENTLY =
  'bmx7ctl: the daemon refused the request (it closed the connection without an answer)';

/** Sends one plain-text request (`legacyRequest(words).text`) and prints the answer. */
export async function exchangeLegacy(
  path: string,
  request: string,
  opts: { follow: boolean },
  io: ControlIo,
): Promise<number> {
  return new Promise<number>((resolve) => {
    const sock = net.createConnection(path);
    const reader = createLegacyAnswerReader();
    const held: string[] = [];
    let heldBytes = 0;
    let streamed = 0;
    let settled = false;
    const finish = (code: number) => {
      if (settled) return;
      settled = true;
      sock.destroy();
      resolve(code);
    };
    const stream = (lines: readonly string[]): boolean => {
      for (const line of lines) {
        if (streamed === 0 && line.trim().length === 0) continue;
        if (streamed++ === 0 && legacyOutcome([line], false).kind === 'busy') {
          io.err(BUSY_LINE);
          finish(EXIT_BUSY);
          return false;
        }
        io.out(line);
      }
      return true;
    };
    const conclude = (complete: boolean) => {
      if (opts.follow) {
        finish(EXIT_OK);
        return;
      }
      const o = legacyOutcome(held, complete);
      switch (o.kind) {
        case 'ok':
          for (const l of o.lines) io.out(l);
          finish(EXIT_OK);
          return;
        case 'busy':
          io.err(BUSY_LINE);
          finish(EXIT_BUSY);
          return;
        case 'refused':
          for (const l of o.lines) io.out(l);
          for (const l of o.errors) io.err(l);
          if (o.errors.length === 0) io.err(REFUSED_SILENTLY);
          finish(EXIT_REFUSED);
      }
    };
    const take = (chunk: { lines: readonly string[]; complete: boolean }) => {
      if (opts.follow) {
        if (!stream(chunk.lines)) return;
      } else {
        for (const l of chunk.lines) heldBytes += l.length + 1;
        held.push(...chunk.lines);
        if (heldBytes > MAX_REPLY_BYTES) {
          io.err(`bmx7ctl: the daemon's answer is longer than ${MAX_REPLY_BYTES} bytes`);
          finish(EXIT_REFUSED);
          return;
        }
      }
      if (chunk.complete) conclude(true);
    };
    sock.on('connect', () => {
      sock.write(request);
    });
    sock.on('data', (chunk: Buffer) => {
      if (!settled) take(reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)));
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (!settled) finish(socketErrorExit(err, path, reader.received(), io));
    });
    sock.on('close', () => {
      if (settled) return;
      const rest = reader.end();
      take(rest);
      if (!settled) conclude(false);
    });
    io.interrupted?.then(() => finish(EXIT_OK));
  });
}
