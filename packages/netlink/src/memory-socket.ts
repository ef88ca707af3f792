/**
 * The in-memory twin of NetlinkSocket: every request message goes to a handler that plays the
 * kernel, and its answers come back packed into datagrams of a bounded size, as a dump would.
 * Helpers build the ACK, error and DONE messages a handler answers with.
 */
import { concat } from './attr.js';
import { NetlinkError } from './errors.js';
import {
  decodeNlmsgs,
  encodeNlmsg,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_MULTI,
  NLMSG_DONE,
  NLMSG_ERROR,
  type NlMsg,
} from './nlmsg.js';
import type { NetlinkSocket } from './socket.js';

export interface MemoryNetlinkSocket extends NetlinkSocket {
  /** Every request message received, decoded, oldest first. */
  readonly requests: NlMsg[];
}

export interface MemoryNetlinkOptions {
  /** Largest datagram the twin sends; answers are split at message boundaries. Default 4096. */
  datagramBytes?: number;
}

export function createMemoryNetlinkSocket(
  protocol: number,
  handler: (request: NlMsg) => NlMsg[],
  opts: MemoryNetlinkOptions = {},
): MemoryNetlinkSocket {
  const limit = opts.datagramBytes ?? 4096;
  const queue: Uint8Array[] = [];
  const requests: NlMsg[] = [];
  let closed = false;
  return {
    protocol,
    requests,
    send(datagram) {
      if (closed) throw new NetlinkError('ERR_NETLINK_CLOSED', 'netlink socket is closed');
      const msgs = decodeNlmsgs(datagram);
      if (!msgs.ok) throw new NetlinkError('ERR_NETLINK_PROTOCOL', `twin got a bad request: ${msgs.reason}`);
      for (const m of msgs.value) {
        const req = { ...m, payload: m.payload.slice() };
        requests.push(req);
        let pending: Uint8Array[] = [];
        let size = 0;
        for (const reply of handler(req)) {
          const enc = encodeNlmsg(reply);
          if (size + enc.length > limit && pending.length > 0) {
            queue.push(concat(pending));
            pending = [];
            size = 0;
          }
          pending.push(enc);
          size += enc.length;
        }
        if (pending.length > 0) queue.push(concat(pending));
      }
    },
    receive() {
      if (closed) throw new NetlinkError('ERR_NETLINK_CLOSED', 'netlink socket is closed');
      return queue.shift() ?? null;
    },
    close() {
      closed = true;
    },
  };
}

/** An NLMSG_ERROR answering `req`: an ACK when `errno` is 0, else the (positive) errno. */
export function nlAck(req: NlMsg, errno = 0, message?: string): NlMsg {
  const tlv =
    message === undefined
      ? new Uint8Array(0)
      : (() => {
          const text = new TextEncoder().encode(message);
          const a = new Uint8Array((4 + text.length + 1 + 3) & ~3);
          const dv = new DataView(a.buffer);
          dv.setUint16(0, 4 + text.length + 1, true);
          dv.setUint16(2, 1, true);
          a.set(text, 4);
          return a;
        })();
  const p = new Uint8Array(20 + tlv.length);
  const dv = new DataView(p.buffer);
  dv.setInt32(0, -errno, true);
  dv.setUint32(4, 16 + req.payload.length, true);
  dv.setUint16(8, req.type, true);
  dv.setUint16(10, req.flags, true);
  dv.setUint32(12, req.seq, true);
  dv.setUint32(16, req.pid, true);
  p.set(tlv, 20);
  return {
    type: NLMSG_ERROR,
    flags: NLM_F_CAPPED | (tlv.length ? NLM_F_ACK_TLVS : 0),
    seq: req.seq,
    pid: req.pid,
    payload: p,
  };
}

/** The NLMSG_DONE that ends a dump answering `req` (errno positive, 0 for success). */
export function nlDone(req: NlMsg, errno = 0): NlMsg {
  const p = new Uint8Array(4);
  new DataView(p.buffer).setInt32(0, -errno, true);
  return { type: NLMSG_DONE, flags: NLM_F_MULTI, seq: req.seq, pid: req.pid, payload: p };
}

/** One reply message to `req` (NLM_F_MULTI when it is a part of a dump). */
export function nlReply(req: NlMsg, type: number, payload: Uint8Array, multi = false): NlMsg {
  return { type, flags: multi ? NLM_F_MULTI : 0, seq: req.seq, pid: req.pid, payload };
}
