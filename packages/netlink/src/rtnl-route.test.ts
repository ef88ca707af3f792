import { describe, expect, it } from 'vitest';
import { createNetlinkClient } from './client.js';
import { createMemoryNetlinkSocket, nlAck, nlDone, nlReply } from './memory-socket.js';
import { NETLINK_ROUTE, NLM_F_CREATE, NLM_F_REPLACE } from './nlmsg.js';
import {
  decodeAddrMsg,
  encodeAddrMsg,
  IFA_CACHEINFO,
  IFA_F_NODAD,
  INFINITY_LIFE_TIME,
  RT_SCOPE_LINK,
  RTM_NEWADDR,
  rtnlGetAddrs,
  rtnlNewAddr,
} from './rtnl-addr.js';
import { AF_INET6 } from './rtnl-ip.js';
import {
  canonicalPrefix,
  decodeRouteMsg,
  encodeRouteMsg,
  RT_SCOPE_NOWHERE,
  RTM_NEWROUTE,
  RTN_UNICAST,
  RTN_UNREACHABLE,
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
  ruleMatches,
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

  it('IPv4 routes: a device route gets scope link as `ip route add 10.9.0.0/16 dev eth1` sends it', () => {
    const c = createNetlinkClient(createMemoryNetlinkSocket(NETLINK_ROUTE, (req) => [nlAck(req)]));
    rtnlNewRoute(c, { dst: '10.9.0.0/16', oif: 3, table: 100, metric: 7, prefsrc: '10.0.0.1' });
    const sent = (c.socket as ReturnType<typeof createMemoryNetlinkSocket>).requests;
    const p = sent[0]!.payload;
    expect([...p.subarray(0, 12)]).toEqual([
      2,
      16,
      0,
      0,
      100,
      RTPROT_STATIC,
      RT_SCOPE_LINK,
      RTN_UNICAST,
      0,
      0,
      0,
      0,
    ]);
    expect(decodeRouteMsg(p)).toEqual({
      ok: true,
      value: {
        family: 2,
        dst: '10.9.0.0/16',
        table: 100,
        protocol: 4,
        scope: 253,
        type: 1,
        oif: 3,
        metric: 7,
        prefsrc: '10.0.0.1',
      },
    });
    rtnlNewRoute(c, { dst: '10.8.0.0/16', gateway: '10.0.0.2', oif: 3, table: 70 });
    expect(decodeRouteMsg(sent[1]!.payload)).toMatchObject({ value: { scope: 0, gateway: '10.0.0.2' } });
    rtnlNewRoute(c, { dst: 'fd00::/8', type: RTN_UNREACHABLE, table: 70, metric: 4096 });
    expect([...sent[2]!.payload.subarray(0, 8)]).toEqual([10, 8, 0, 0, 70, 4, 0, RTN_UNREACHABLE]);
    // a delete leaves type and scope open (RTN_UNSPEC, RT_SCOPE_NOWHERE) unless asked
    rtnlDelRoute(c, { dst: '10.9.0.0/16', table: 100, metric: 7 });
    expect([...sent[3]!.payload.subarray(0, 8)]).toEqual([2, 16, 0, 0, 100, 0, RT_SCOPE_NOWHERE, 0]);
    expect(decodeRouteMsg(sent[3]!.payload)).toMatchObject({ value: { metric: 7 } });
    expect(canonicalPrefix('FD70:0::1')).toBe('fd70::1/128');
    expect(canonicalPrefix('10.1.0.0/16')).toBe('10.1.0.0/16');
  });

  it('address messages carry IFA_LOCAL and IFA_ADDRESS, and IFA_FLAGS beyond 8 bits', () => {
    const a = { family: AF_INET6, prefixLen: 16, flags: IFA_F_NODAD, scope: 0, index: 4, address: 'fd70::1' };
    const p = encodeAddrMsg(a);
    expect([...p.subarray(0, 8)]).toEqual([10, 16, IFA_F_NODAD, 0, 4, 0, 0, 0]);
    expect(decodeAddrMsg(p)).toEqual({ ok: true, value: a });
    expect(decodeAddrMsg(encodeAddrMsg({ ...a, flags: 0x300 }))).toMatchObject({ value: { flags: 0x300 } });
    expect(decodeAddrMsg(p.subarray(0, 7)).ok).toBe(false);
    // a deprecated address: IFA_CACHEINFO with preferred lifetime 0, valid forever (ip addr … preferred_lft 0)
    const d = encodeAddrMsg({ ...a, lifetimes: { preferred: 0, valid: INFINITY_LIFE_TIME } });
    const ci = d.subarray(d.length - 20);
    expect([...ci.subarray(0, 4)]).toEqual([20, 0, IFA_CACHEINFO, 0]);
    expect([...ci.subarray(4, 12)]).toEqual([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
  });

  it('rule messages: pref and table as attributes, action to-table', () => {
    const p = encodeRuleMsg({ family: AF_INET6, priority: 70, table: 70 });
    expect([...p.subarray(0, 12)]).toEqual([10, 0, 0, 0, 70, 0, 0, 1, 0, 0, 0, 0]);
    expect(decodeRuleMsg(p)).toMatchObject({ ok: true, value: { priority: 70, table: 70, action: 1 } });
  });

  it('rule messages with selectors: from, to, iif, oif as `ip rule add` sends them', () => {
    const spec = {
      family: 2,
      priority: 6000,
      table: 1000,
      src: '10.0.0.0/8',
      dst: '10.9.0.0/16',
      iif: 'lo',
      oif: 'eth1',
    };
    const p = encodeRuleMsg(spec);
    // fib_rule_hdr: family, dst_len, src_len, tos, table (RT_TABLE_COMPAT beyond 255), res1, res2, action
    expect([...p.subarray(0, 12)]).toEqual([2, 16, 8, 0, 252, 0, 0, 1, 0, 0, 0, 0]);
    const d = decodeRuleMsg(p);
    expect(d).toEqual({
      ok: true,
      value: {
        family: 2,
        priority: 6000,
        table: 1000,
        action: 1,
        dstLen: 16,
        srcLen: 8,
        src: '10.0.0.0/8',
        dst: '10.9.0.0/16',
        iif: 'lo',
        oif: 'eth1',
      },
    });
    expect(d.ok && ruleMatches(d.value, spec)).toBe(true);
    const { oif: _oif, ...noOif } = spec;
    expect(d.ok && ruleMatches(d.value, noOif)).toBe(false);
    expect(
      decodeRuleMsg(encodeRuleMsg({ family: 10, priority: 1, table: 60, src: 'fd70::1' })),
    ).toMatchObject({
      value: { src: 'fd70::1/128', srcLen: 128 },
    });
    for (let n = 0; n < p.length; n++) expect(() => decodeRuleMsg(p.subarray(0, n))).not.toThrow();
    const bad = p.slice();
    bad[2] = 200; // a source prefix longer than IPv4
    expect(decodeRuleMsg(bad).ok).toBe(false);
    expect(() => encodeRuleMsg({ family: 2, priority: 1, table: 1, src: 'fd70::/16' })).toThrow(RangeError);
    expect(() => encodeRuleMsg({ family: 2, priority: 1, table: 1, iif: 'a-name-far-too-long' })).toThrow(
      RangeError,
    );
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
