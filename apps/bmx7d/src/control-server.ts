/**
 * The control socket's transport: a Unix stream socket at `<runtimeDir>/sock`, mode 0600. The
 * protocol itself (framing, requests, the reference's plain-text protocol, log streams) is
 * @bmx7/control's session; this module only accepts connections, feeds each one's bytes to its
 * session and writes what the session answers. It bounds the clients (MAX_CLIENTS, one `busy`
 * reply to the rest), closes connections that stay idle (IDLE_TIMEOUT_MS without a complete frame,
 * unless they follow the log), and survives every socket error: a client may vanish at any point.
 */
import { chmodSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import {
  busyFrame,
  type ControlBackend,
  type ControlSession,
  createControlSession,
  IDLE_TIMEOUT_MS,
  MAX_CLIENTS,
} from '@bmx7/control';
import type { Clock } from '@bmx7/core';
import { createLinuxClock } from './clock.js';

export interface ControlServerInit {
  readonly path: string;
  readonly backend: ControlBackend;
  /** bmx7d's version, for `hello`. */
  readonly serverVersion: string;
  /** Default IDLE_TIMEOUT_MS. */
  readonly idleMs?: number;
  /** Default MAX_CLIENTS. */
  readonly maxClients?: number;
  /** The idle timers' clock (default: the daemon's clock). */
  readonly clock?: Pick<Clock, 'schedule'>;
  /** A socket error of one connection (it is closed; the server keeps going). */
  readonly onSocketError?: (err: Error) => void;
}

export interface ControlServer {
  /** Sends a log line to every session subscribed at `level` or above. */
  log(level: number, message: string, time?: number): void;
  /** The highest level any session follows the log at, -1 when none does. */
  logLevel(): number;
  /** Connections being served (not counting refused ones). */
  clients(): number;
  close(): Promise<void>;
}

export async function startControlServer(init: ControlServerInit): Promise<ControlServer> {
  const idleMs = init.idleMs ?? IDLE_TIMEOUT_MS;
  const maxClients = init.maxClients ?? MAX_CLIENTS;
  const onSocketError = init.onSocketError ?? (() => {});
  const clock = init.clock ?? createLinuxClock();
  try {
    unlinkSync(init.path); // a stale socket of a crashed run (the pid lock is held by now)
  } catch {
    // none
  }
  const sessions = new Map<net.Socket, ControlSession>();
  let level = -1;
  const updateLevel = (): void => {
    level = -1;
    for (const s of sessions.values())
      if (!s.closed && (s.subscribed ?? -1) > level) level = s.subscribed ?? -1;
  };

  const refuse = (sock: net.Socket): void => {
    // the client may be gone before, while or after the reply is written
    sock.on('error', onSocketError);
    const cancel = clock.schedule(idleMs, () => sock.destroy());
    sock.on('close', cancel);
    sock.end(busyFrame(), () => sock.destroy());
  };

  const serve = (sock: net.Socket): void => {
    const session = createControlSession(
      init.backend,
      {
        write(data) {
          if (!sock.destroyed && sock.writable) sock.write(data);
        },
        // what was written still reaches the client; the socket is gone once it is sent
        close: () => {
          if (!sock.destroyed) sock.end(() => sock.destroy());
        },
        pending: () => sock.writableLength,
      },
      { serverVersion: init.serverVersion },
    );
    sessions.set(sock, session);
    // idle: no complete frame for idleMs, and not following the log
    let frames = 0;
    let cancelIdle = (): void => {};
    const armIdle = (): void => {
      cancelIdle();
      cancelIdle = clock.schedule(idleMs, () => {
        if (session.subscribed !== undefined && !session.closed) armIdle();
        else sock.destroy();
      });
    };
    armIdle();
    sock.on('data', (chunk: Buffer) => {
      session.receive(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
      if (session.frames !== frames) {
        frames = session.frames;
        armIdle();
        updateLevel();
      }
    });
    sock.on('end', () => {
      session.end();
      updateLevel();
    });
    sock.on('error', (err) => {
      onSocketError(err);
      sock.destroy();
    });
    sock.on('close', () => {
      cancelIdle();
      sessions.delete(sock);
      updateLevel();
    });
  };

  const server = net.createServer((sock) => {
    if (sessions.size >= maxClients) refuse(sock);
    else serve(sock);
  });
  // refused connections are closed at once, but a flood of them must not exhaust descriptors
  server.maxConnections = maxClients * 2;
  server.on('error', onSocketError);
  const old = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(init.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(old);
  }
  chmodSync(init.path, 0o600);
  return {
    log(l, message, time) {
      if (l > level) return;
      for (const s of sessions.values()) s.log(l, message, time);
    },
    logLevel: () => level,
    clients: () => sessions.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const sock of sessions.keys()) sock.destroy();
        server.close(() => resolve());
      }),
  };
}
