import { describe, expect, it } from 'vitest';
import { concat, nlaString, nlaU16 } from './attr.js';
import { createNetlinkClient } from './client.js';
import { NetlinkError } from './errors.js';
import {
  CTRL_ATTR_FAMILY_ID,
  CTRL_ATTR_FAMILY_NAME,
  CTRL_CMD_NEWFAMILY,
  decodeFamily,
  encodeGenl,
  encodeGetFamily,
  GENL_ID_CTRL,
} from './genl.js';
import { createMemoryNetlinkSocket, nlAck, nlDone, nlReply } from './memory-socket.js';
import {
  NETLINK_GENERIC,
  NETLINK_ROUTE,
  NLM_F_ACK,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  type NlMsg,
} from './nlmsg.js';
import { decodeLinkMsg, encodeLinkMsg, RTM_GETLINK, RTM_NEWLINK } from './rtnl-link.js';

function links(req: NlMsg, n: number, first = 1): NlMsg[] {
  return Array.from({ length: n }, (_, i) =>
    nlReply(
      req,
      RTM_NEWLINK,
      encodeLinkMsg({ index: first + i, name: `veth${first + i}`, kind: 'veth' }),
      true,
    ),
  );
}

describe('netlink client', () => {
  it('resolves a generic family through nlctrl, then waits for the ACK', () => {
    const sock = createMemoryNetlinkSocket(NETLINK_GENERIC, (req) => [
      nlReply(
        req,
        GENL_ID_CTRL,
        encodeGenl({
          cmd: CTRL_CMD_NEWFAMILY,
          version: 2,
          attrs: concat([nlaU16(CTRL_ATTR_FAMILY_ID, 0x1a), nlaString(CTRL_ATTR_FAMILY_NAME, 'wireguard')]),
        }),
      ),
      nlAck(req),
    ]);
    const c = createNetlinkClient(sock);
    const r = c.request(GENL_ID_CTRL, NLM_F_ACK, encodeGetFamily('wireguard'));
    expect(r).toHaveLength(1);
    expect(decodeFamily(r[0]!.payload)).toEqual({
      ok: true,
      value: { id: 0x1a, name: 'wireguard', version: 0, maxAttr: 0 },
    });
    expect(sock.requests[0]!.flags).toBe(NLM_F_ACK | 1);
  });

  it('merges a dump that spans several datagrams up to NLMSG_DONE', () => {
    const sock = createMemoryNetlinkSocket(NETLINK_ROUTE, (req) => [...links(req, 200), nlDone(req)], {
      datagramBytes: 512,
    });
    const c = createNetlinkClient(sock);
    const r = c.dump(RTM_GETLINK, encodeLinkMsg({}));
    expect(r).toHaveLength(200);
    const last = decodeLinkMsg(r[199]!.payload);
    expect(last.ok && last.value).toMatchObject({ index: 200, name: 'veth200', kind: 'veth' });
  });

  it('throws errno from NLMSG_ERROR with the kernel text, and from a failed NLMSG_DONE', () => {
    const c = createNetlinkClient(
      createMemoryNetlinkSocket(NETLINK_ROUTE, (req) => [nlAck(req, 17, 'link exists')]),
    );
    try {
      c.request(RTM_NEWLINK, NLM_F_ACK, encodeLinkMsg({ name: 'x' }));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(NetlinkError);
      expect(err).toMatchObject({ code: 'ERR_NETLINK', errno: 17, message: 'EEXIST: link exists' });
    }
    const d = createNetlinkClient(
      createMemoryNetlinkSocket(NETLINK_ROUTE, (req) => [...links(req, 2), nlDone(req, 19)]),
    );
    expect(() => d.dump(RTM_GETLINK, encodeLinkMsg({}))).toThrow(expect.objectContaining({ errno: 19 }));
  });

  it('skips answers to other sequence numbers, retries an interrupted dump, and times out on silence', () => {
    let calls = 0;
    const sock = createMemoryNetlinkSocket(NETLINK_ROUTE, (req) => {
      calls++;
      const stale = nlReply({ ...req, seq: req.seq - 1 }, RTM_NEWLINK, encodeLinkMsg({ index: 99 }), true);
      const parts = links(req, 3);
      if (calls === 1) parts[1] = { ...parts[1]!, flags: NLM_F_MULTI | NLM_F_DUMP_INTR };
      return [stale, ...parts, nlDone(req)];
    });
    const c = createNetlinkClient(sock);
    expect(c.dump(RTM_GETLINK, encodeLinkMsg({}))).toHaveLength(3);
    expect(calls).toBe(2);
    const silent = createNetlinkClient(createMemoryNetlinkSocket(NETLINK_ROUTE, () => []));
    expect(() => silent.request(RTM_NEWLINK, NLM_F_ACK, encodeLinkMsg({}), { timeoutMs: 1 })).toThrow(
      expect.objectContaining({ code: 'ERR_NETLINK_TIMEOUT' }),
    );
  });

  it('rejects a datagram with a bad length as a protocol error', () => {
    const sock = createMemoryNetlinkSocket(NETLINK_ROUTE, () => []);
    const c = createNetlinkClient({ ...sock, receive: () => Uint8Array.of(200, 0, 0, 0, 2, 0, 0, 0) });
    expect(() => c.request(RTM_NEWLINK, NLM_F_ACK, new Uint8Array(16))).toThrow(
      expect.objectContaining({ code: 'ERR_NETLINK_PROTOCOL' }),
    );
  });
});
