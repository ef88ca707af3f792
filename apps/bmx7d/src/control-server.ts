/**
 * The control socket: a Unix stream socket at `<runtimeDir>/sock`, mode 0600, speaking the
 * versioned JSON protocol of @bmx7/control (one request per line, one reply per request, event
 * frames for subscribers) and the reference's plain-text protocol for old clients. Requests are
 * bounded in size (MAX_REQUEST_BYTES) and clients in number (MAX_CLIENTS, one `busy` reply to the
 * rest); a malformed request gets an error reply and the connection stays usable.
 */
import { chmodSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import {
  type ControlRequest,
  createConnectionDecoder,
  type EventFrame,
  encodeFrame,
  encodeLegacyReply,
  errorReply,
  MAX_CLIENTS,
  MAX_PENDING_EVENT_BYTES,
  type Reply,
  type RequestId,
} from '@bmx7/control';

export interface ControlConnection {
  /** Sends an event frame to this client (dropped with a note when the client is too slow). */
  event(frame: Omit<EventFrame, 'type' | 'sub'>): void;
  /** Sets the subscription that events go to (undefined ends it). */
  subscribe(sub: RequestId | undefined, cancel?: () => void): void;
}

export interface ControlHandlers {
  request(req: ControlRequest, conn: ControlConnection): Reply | Promise<Reply>;
  /** A reference client's words; returns the plain-text answer. */
  legacy(words: readonly string[]): string | Promise<string>;
}

export interface ControlServer {
  close(): Promise<void>;
  clients(): number;
}

export async function startControlServer(path: string, h: ControlHandlers): Promise<ControlServer> {
  try {
    unlinkSync(path); // a stale socket of a crashed run (the pid lock is held by now)
  } catch {
    // none
  }
  const conns = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    if (conns.size >= MAX_CLIENTS) {
      sock.end(encodeFrame(errorReply(null, 'busy', `more than ${MAX_CLIENTS} control clients`)));
      return;
    }
    conns.add(sock);
    serve(sock, h);
    sock.on('close', () => conns.delete(sock));
  });
  server.maxConnections = MAX_CLIENTS * 2;
  const old = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(old);
  }
  chmodSync(path, 0o600);
  return {
    clients: () => conns.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of conns) c.destroy();
        server.close(() => resolve());
      }),
  };
}

function serve(sock: net.Socket, h: ControlHandlers): void {
  const decoder = createConnectionDecoder();
  let sub: RequestId | undefined;
  let cancelSub: (() => void) | undefined;
  let dropped = 0;
  // replies go out in request order even when a handler is asynchronous
  let chain: Promise<void> = Promise.resolve();
  const write = (s: string) => {
    if (!sock.destroyed && sock.writable) sock.write(s);
  };
  const conn: ControlConnection = {
    event(frame) {
      if (sub === undefined) return;
      if (sock.writableLength > MAX_PENDING_EVENT_BYTES) {
        dropped++;
        return;
      }
      if (dropped > 0) {
        write(encodeFrame({ type: 'event', sub, event: 'dropped', message: `${dropped} events dropped` }));
        dropped = 0;
      }
      write(encodeFrame({ type: 'event', sub, ...frame } as EventFrame));
    },
    subscribe(id, cancel) {
      cancelSub?.();
      sub = id;
      cancelSub = cancel;
    },
  };
  const handle = (evs: ReturnType<typeof decoder.push>) => {
    for (const ev of evs) {
      chain = chain.then(async () => {
        if (sock.destroyed) return;
        switch (ev.kind) {
          case 'error':
            write(encodeFrame(ev.reply));
            break;
          case 'request': {
            let reply: Reply;
            try {
              reply = await h.request(ev.request, conn);
            } catch (err) {
              reply = errorReply(ev.request.id, 'internal', String(err));
            }
            write(encodeFrame(reply));
            if (ev.request.op === 'quit') sock.end();
            break;
          }
          case 'legacy': {
            let text: string;
            try {
              text = await h.legacy(ev.words);
            } catch (err) {
              text = `ERROR: ${String(err)}\n`;
            }
            sock.end(encodeLegacyReply(text));
            break;
          }
          case 'legacy-error':
            sock.end(encodeLegacyReply(`ERROR: ${ev.message}\n`));
            break;
        }
      });
    }
  };
  sock.on('data', (chunk: Buffer) =>
    handle(decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length))),
  );
  sock.on('end', () => {
    handle(decoder.end());
    chain = chain.then(() => {
      if (sub === undefined) sock.end();
    });
  });
  sock.on('error', () => sock.destroy());
  sock.on('close', () => cancelSub?.());
}
