import { describe, expect, it } from 'vitest';
import { createNetlinkClient } from './client.js';
import { createMemoryNetlinkSocket, nlAck, nlDone, nlReply } from './memory-socket.js';
import { NETLINK_ROUTE, NLM_F_CREATE, NLM_F_REPLACE } from './nlmsg.js';
import {
  decodeAddrMsg,
  encodeAddrMsg,
  IFA_F_NODAD,
  RTM_NEWADDR,
  rtnlGetAddrs,
  rtnlNewAddr,
} from './rtnl-addr.js';
import { AF_INET6 } from './rtnl-ip.js';
import {
  decodeRouteMsg,
  encodeRouteMsg,
  RTM_NEWROUTE,
  RTPROT_STATIC,
  rtnlDelRoute,
  rtnlGetRoutes,
  rtnlNewRoute,
} from './rtnl-route.js';
import {
  decodeRuleMsg,
  encodeRuleMsg,
  RTM_DELRULE,
  RTM_NEWRULE,
  rtnlDelRule,
  rtnlGetRules,
} from './rtnl-rule.js';

const route = {
  family: AF_INET6,
  dst: 'fd70:c47:6241:3b5f:b8f2:2e3d:37b0:6be/128',
  table: 70,
  protocol: RTPROT_STATIC,
  scope: 0,
  type: 1,
  gateway: 'fe80::ac62:e1ff:fe0d:136b',
  oif: 3,
  metric: 1024,
};

describe('rtnetlink routes, addresses and rules', () => {
  it('route messages: rtmsg header as `ip -6 route replace … table 70 proto static metric 1024` sends it', () => {
    const p = encodeRouteMsg(route);
    expect([...p.subarray(0, 12)]).toEqual([10, 128, 0, 0, 70, 4, 0, 1, 0, 0, 0, 0]);
    expect(decodeRouteMsg(p)).toEqual({ ok: true, value: route });
    for (let n = 0; n < p.length; n++) expect(() => decodeRouteMsg(p.subarray(0, n))).not.toThrow();
    expect(decodeRouteMsg(encodeRouteMsg({ ...route, table: 1000 }))).toMatchObject({
      value: { table: 1000 },
    });
  });

  it('address messages carry IFA_LOCAL and IFA_ADDRESS, and IFA_FLAGS beyond 8 bits', () => {
    const a = { family: AF_INET6, prefixLen: 16, flags: IFA_F_NODAD, scope: 0, index: 4, address: 'fd70::1' };
    const p = encodeAddrMsg(a);
    expect([...p.subarray(0, 8)]).toEqual([10, 16, IFA_F_NODAD, 0, 4, 0, 0, 0]);
    expect(decodeAddrMsg(p)).toEqual({ ok: true, value: a });
    expect(decodeAddrMsg(encodeAddrMsg({ ...a, flags: 0x300 }))).toMatchObject({ value: { flags: 0x300 } });
    expect(decodeAddrMsg(p.subarray(0, 7)).ok).toBe(false);
  });

  it('rule messages: pref and table as attributes, action to-table', () => {
    const p = encodeRuleMsg({ family: AF_INET6, priority: 70, table: 70 });
    expect([...p.subarray(0, 12)]).toEqual([10, 0, 0, 0, 70, 0, 0, 1, 0, 0, 0, 0]);
    expect(decodeRuleMsg(p)).toMatchObject({ ok: true, value: { priority: 70, table: 70, action: 1 } });
  });

  it('requests and dumps over the twin: replace flags, table filter, errors', () => {
    const sock = createMemoryNetlinkSocket(NETLINK_ROUTE, (req) => {
      if (req.type === RTM_NEWROUTE) return [nlAck(req)];
      if (req.type === 26)
        return [
          nlReply(req, RTM_NEWROUTE, encodeRouteMsg(route), true),
          nlReply(req, RTM_NEWROUTE, encodeRouteMsg({ ...route, table: 254 }), true),
          nlDone(req),
        ];
      if (req.type === 22)
        return [
          nlReply(
            req,
            RTM_NEWADDR,
            encodeAddrMsg({
              family: 10,
              prefixLen: 64,
              flags: 0x80,
              scope: 253,
              index: 2,
              address: 'fe80::1',
            }),
            true,
          ),
          nlDone(req),
        ];
      if (req.type === 34)
        return [
          nlReply(req, RTM_NEWRULE, encodeRuleMsg({ family: 10, priority: 70, table: 70 }), true),
          nlDone(req),
        ];
      if (req.type === RTM_DELRULE) return [nlAck(req, 2)];
      return [nlAck(req)];
    });
    const c = createNetlinkClient(sock);
    rtnlNewRoute(c, { dst: route.dst, gateway: route.gateway, oif: 3, table: 70, metric: 1024 });
    expect(sock.requests[0]!.flags & (NLM_F_CREATE | NLM_F_REPLACE)).toBe(NLM_F_CREATE | NLM_F_REPLACE);
    expect(rtnlGetRoutes(c, AF_INET6, 70)).toEqual([route]);
    expect(rtnlGetAddrs(c, AF_INET6)).toMatchObject([{ address: 'fe80::1', index: 2, scope: 253 }]);
    expect(rtnlGetRules(c, AF_INET6)).toMatchObject([{ priority: 70, table: 70 }]);
    rtnlDelRoute(c, { dst: route.dst, table: 70 });
    expect(decodeRouteMsg(sock.requests.at(-1)!.payload)).toMatchObject({
      value: { protocol: 0, table: 70 },
    });
    rtnlNewAddr(c, { index: 2, address: 'fd70::1', prefixLen: 16, flags: IFA_F_NODAD });
    expect(() => rtnlDelRule(c, { family: 10, priority: 70, table: 70 })).toThrow(/ENOENT/);
  });
});
