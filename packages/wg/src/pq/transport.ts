/**
 * How the post-quantum PSK exchange's messages travel (docs/pq-psk.md "Transport"): UDP between
 * the two nodes' primary addresses over the mesh, port 6272 (`DEFAULT_PQ_PSK_PORT`, messages.ts). The daemon gives a socket; simulations
 * an in-memory bus that delivers by primary address.
 */

export interface PqTransport {
  /** Sends one datagram to a node's primary address (errors are the transport's to log). */
  send(toIp: string, payload: Uint8Array): void;
  /** Every datagram that arrives, with the sender's address. */
  onMessage(fn: (fromIp: string, payload: Uint8Array) => void): void;
  close(): void;
}

/** An in-memory bus: transports by address; `drop` can lose or alter datagrams (tests). */
export interface MemoryPqBus {
  transport(ownIp: string): PqTransport;
  /** Datagrams sent so far. */
  readonly sent: number;
}

export function createMemoryPqBus(
  opts: {
    /** Decides a datagram's fate: deliver as is, drop it, or deliver other bytes. */
    filter?: (from: string, to: string, payload: Uint8Array) => Uint8Array | undefined;
    /** Delivers later (e.g. a simulation clock's schedule); default: on a microtask. */
    defer?: (fn: () => void) => void;
  } = {},
): MemoryPqBus {
  const handlers = new Map<string, (fromIp: string, payload: Uint8Array) => void>();
  let sent = 0;
  const defer = opts.defer ?? ((fn: () => void) => queueMicrotask(fn));
  return {
    transport(ownIp) {
      return {
        send(toIp, payload) {
          sent++;
          const bytes = opts.filter ? opts.filter(ownIp, toIp, payload) : payload;
          if (!bytes) return;
          const copy = Uint8Array.from(bytes);
          defer(() => handlers.get(toIp)?.(ownIp, copy));
        },
        onMessage(fn) {
          handlers.set(ownIp, fn);
        },
        close() {
          handlers.delete(ownIp);
        },
      };
    },
    get sent() {
      return sent;
    },
  };
}
