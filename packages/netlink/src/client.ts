/**
 * Request/reply over a NetlinkSocket: sequence numbers, ACKs and errno from NLMSG_ERROR, dumps
 * merged across NLM_F_MULTI datagrams up to NLMSG_DONE. Synchronous, one request at a time.
 */
import { errnoName, NetlinkError } from './errors.js';
import {
  decodeNlmsgDone,
  decodeNlmsgErr,
  decodeNlmsgs,
  encodeNlmsg,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  type NlMsg,
} from './nlmsg.js';
import type { NetlinkSocket } from './socket.js';

export interface NetlinkRequestOptions {
  /** How long to wait for each datagram of the answer. Default 5000 ms. */
  timeoutMs?: number;
}

export interface NetlinkClient {
  readonly socket: NetlinkSocket;
  /**
   * Sends one request and returns the messages that answer it. With NLM_F_ACK it waits for the
   * ACK; with NLM_F_DUMP it reads every NLM_F_MULTI part up to NLMSG_DONE; otherwise it returns the
   * first reply. A negative errno in NLMSG_ERROR or NLMSG_DONE throws a NetlinkError with `errno`.
   */
  request(type: number, flags: number, payload: Uint8Array, opts?: NetlinkRequestOptions): NlMsg[];
  /** A dump (NLM_F_REQUEST|NLM_F_DUMP), retried when the kernel flags it NLM_F_DUMP_INTR. */
  dump(type: number, payload: Uint8Array, opts?: NetlinkRequestOptions & { retries?: number }): NlMsg[];
  close(): void;
}

export function createNetlinkClient(socket: NetlinkSocket, opts: { firstSeq?: number } = {}): NetlinkClient {
  let seq = opts.firstSeq ?? (Math.floor(Math.random() * 0x7fffffff) || 1);

  function request(type: number, flags: number, payload: Uint8Array, o: NetlinkRequestOptions = {}) {
    const timeoutMs = o.timeoutMs ?? 5000;
    seq = (seq + 1) >>> 0 || 1;
    const mySeq = seq;
    flags |= NLM_F_REQUEST;
    socket.send(encodeNlmsg({ type, flags, seq: mySeq, pid: 0, payload }));
    const wantAck = (flags & NLM_F_ACK) !== 0;
    const isDump = (flags & NLM_F_DUMP) === NLM_F_DUMP;
    const out: NlMsg[] = [];
    let interrupted = false;
    for (;;) {
      const dgram = socket.receive(timeoutMs);
      if (dgram === null) {
        throw new NetlinkError(
          'ERR_NETLINK_TIMEOUT',
          `no netlink answer to message type ${type} in ${timeoutMs} ms`,
        );
      }
      const msgs = decodeNlmsgs(dgram);
      if (!msgs.ok) throw new NetlinkError('ERR_NETLINK_PROTOCOL', `bad netlink answer: ${msgs.reason}`);
      let multi = false;
      for (const m of msgs.value) {
        if (m.seq !== mySeq) continue; // a late answer to an earlier, timed-out request
        if (m.flags & NLM_F_DUMP_INTR) interrupted = true;
        if (m.type === NLMSG_NOOP || m.type === NLMSG_OVERRUN) continue;
        if (m.type === NLMSG_ERROR) {
          const e = decodeNlmsgErr(m);
          if (!e.ok) throw new NetlinkError('ERR_NETLINK_PROTOCOL', `bad NLMSG_ERROR: ${e.reason}`);
          if (e.value.error !== 0) {
            const errno = -e.value.error;
            const why = e.value.message ? `: ${e.value.message}` : '';
            throw new NetlinkError('ERR_NETLINK', `${errnoName(errno)}${why}`, { errno });
          }
          return out; // the ACK ends every request that asked for one
        }
        if (m.type === NLMSG_DONE) {
          const err = decodeNlmsgDone(m);
          if (err < 0) throw new NetlinkError('ERR_NETLINK', errnoName(-err), { errno: -err });
          if (interrupted) throw new NetlinkError('ERR_NETLINK_DUMP_INTR', 'dump interrupted by a change');
          if (!wantAck) return out;
          continue;
        }
        out.push(m);
        if (m.flags & NLM_F_MULTI) multi = true;
      }
      if (!wantAck && !isDump && !multi && out.length > 0) return out;
    }
  }

  return {
    socket,
    request,
    dump(type, payload, o = {}) {
      const retries = o.retries ?? 3;
      for (let i = 0; ; i++) {
        try {
          return request(type, NLM_F_DUMP, payload, o);
        } catch (err) {
          if (!(err instanceof NetlinkError) || err.code !== 'ERR_NETLINK_DUMP_INTR' || i >= retries)
            throw err;
        }
      }
    },
    close: () => socket.close(),
  };
}
