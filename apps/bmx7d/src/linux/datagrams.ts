/**
 * The engine's datagram port on Linux (docs/protocol.md §2.3): per interface one receive socket bound to
 * ff02::2 port 6270 with the interface's scope, which binds it to that interface, and one send socket
 * bound to the interface's link-local address port 6270, hop limit 1, no loopback. Packets never leave
 * by another interface and arrive tagged with the interface they came in on.
 */
import dgram from 'node:dgram';
import type { DatagramPort } from '@bmx7/core';

/** UDP port of BMX7, fixed by the protocol (docs/protocol.md §2.3). */
export const BMX7_PORT = 6270;
/** All-routers link-local multicast group that carries all BMX7 core traffic. */
export const BMX7_GROUP = 'ff02::2';
/** Largest UDP payload BMX7 sends or accepts (1280 − 40 − 8). */
export const MAX_PAYLOAD = 1232;

export type DatagramReceiver = (ifname: string, src: string, payload: Uint8Array) => void;

export interface LinuxDatagrams extends DatagramPort {
  /** Opens the sockets of an interface (link-local address in text form, without scope). */
  open(ifname: string, linkLocal: string): Promise<void>;
  /** Closes the sockets of an interface (no-op when not open). */
  close(ifname: string): void;
  /** Closes everything. */
  closeAll(): void;
  /** Interfaces with open sockets. */
  interfaces(): string[];
  /** Counters for show tables and tests. */
  stats(): { sent: number; sendErrors: number; received: number; dropped: number };
}

interface Pair {
  rx: dgram.Socket;
  tx: dgram.Socket;
  linkLocal: string;
}

function bind(sock: dgram.Socket, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    sock.once('error', onError);
    sock.bind({ port: BMX7_PORT, address, exclusive: true }, () => {
      sock.off('error', onError);
      resolve();
    });
  });
}

/** Strips a `%scope` suffix from an address in text form. */
export function stripScope(address: string): string {
  const i = address.indexOf('%');
  return i < 0 ? address : address.slice(0, i);
}

export function createLinuxDatagrams(
  receive: DatagramReceiver,
  onError: (ifname: string, err: Error) => void,
): LinuxDatagrams {
  const pairs = new Map<string, Pair>();
  const stats = { sent: 0, sendErrors: 0, received: 0, dropped: 0 };

  const api: LinuxDatagrams = {
    async open(ifname, linkLocal) {
      api.close(ifname);
      const rx = dgram.createSocket({ type: 'udp6', reuseAddr: true });
      const tx = dgram.createSocket({ type: 'udp6', reuseAddr: true });
      try {
        await bind(rx, `${BMX7_GROUP}%${ifname}`);
        // The reference relies on forwarding to join ff02::2; joining explicitly also works without it.
        rx.addMembership(BMX7_GROUP, `::%${ifname}`);
        await bind(tx, `${linkLocal}%${ifname}`);
        tx.setMulticastInterface(`::%${ifname}`);
        tx.setMulticastTTL(1);
        tx.setMulticastLoopback(false);
      } catch (err) {
        rx.close();
        tx.close();
        throw err;
      }
      rx.on('message', (msg, rinfo) => {
        // Only link-local sources count (docs/protocol.md §4.1); the engine checks again, this saves it work.
        const src = stripScope(rinfo.address);
        if (!src.toLowerCase().startsWith('fe8') || msg.length > MAX_PAYLOAD) {
          stats.dropped++;
          return;
        }
        stats.received++;
        receive(ifname, src, new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength));
      });
      rx.on('error', (err) => onError(ifname, err));
      tx.on('error', (err) => onError(ifname, err));
      pairs.set(ifname, { rx, tx, linkLocal });
    },
    close(ifname) {
      const p = pairs.get(ifname);
      if (!p) return;
      pairs.delete(ifname);
      p.rx.close();
      p.tx.close();
    },
    closeAll() {
      for (const ifname of [...pairs.keys()]) api.close(ifname);
    },
    interfaces: () => [...pairs.keys()],
    stats: () => ({ ...stats }),
    send(ifname, payload) {
      const p = pairs.get(ifname);
      if (!p || payload.length > MAX_PAYLOAD) {
        stats.sendErrors++;
        return;
      }
      p.tx.send(payload, BMX7_PORT, `${BMX7_GROUP}%${ifname}`, (err) => {
        if (err) {
          stats.sendErrors++;
          onError(ifname, err);
        } else stats.sent++;
      });
    },
  };
  return api;
}
