/**
 * The UDP socket of the post-quantum PSK exchange (docs/pq-psk.md "Transport"): one IPv6 socket on
 * `pqPskPort` (6272), over the mesh to other nodes' primary addresses. Messages name their sender
 * by node id and are authenticated by the exchange itself, so the socket takes datagrams from any
 * address; a datagram larger than the exchange's largest message is dropped unread.
 */
import { createSocket } from 'node:dgram';
import type { Logger } from '@bmx7/core';
import type { PqTransport } from '@bmx7/plugin-wg';

/** The largest exchange message (a RESP: 1188 bytes) fits an IPv6 minimum-MTU packet. */
const MAX_DATAGRAM = 1232;

export function createPqSocket(port: number, logger: Logger): PqTransport {
  const sock = createSocket({ type: 'udp6', ipv6Only: true });
  let handler: ((fromIp: string, payload: Uint8Array) => void) | undefined;
  let open = false;
  sock.on('error', (e) => logger.log(0, 'pq-psk socket error', { port, error: e.message }));
  sock.on('message', (msg, rinfo) => {
    if (msg.length > MAX_DATAGRAM) return;
    handler?.(rinfo.address, new Uint8Array(msg));
  });
  sock.bind(port, '::', () => {
    open = true;
  });
  return {
    send(toIp, payload) {
      sock.send(payload, port, toIp, (e) => {
        if (e) logger.log(4, 'pq-psk send failed', { to: toIp, error: e.message });
      });
    },
    onMessage(fn) {
      handler = fn;
    },
    close() {
      if (open) sock.close();
      open = false;
    },
  };
}
