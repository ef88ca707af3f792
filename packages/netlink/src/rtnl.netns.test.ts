import { describeNetns } from '@bmx7/testenv/env';
import { createNetnsBed } from '@bmx7/testenv/netns';
import { afterAll, expect, it } from 'vitest';
import { createNetlinkClient } from './client.js';
import { NETLINK_ROUTE } from './nlmsg.js';
import { IFA_F_NODAD, rtnlDelAddr, rtnlGetAddrs, rtnlNewAddr } from './rtnl-addr.js';
import { AF_INET6 } from './rtnl-ip.js';
import { rtnlGetLinks } from './rtnl-link.js';
import { rtnlDelRoute, rtnlGetRoutes, rtnlNewRoute } from './rtnl-route.js';
import { rtnlDelRule, rtnlGetRules, rtnlNewRule } from './rtnl-rule.js';
import { openNetlinkSocket } from './socket.js';

describeNetns('rtnetlink addresses, routes and rules against `ip`', () => {
  const bed = createNetnsBed('nr');
  afterAll(() => bed.cleanup());

  it('adds, lists and removes what `ip` shows', () => {
    const a = bed.ns('a');
    const b = bed.ns('b');
    bed.execOk(a, 'sysctl', ['-qw', 'net.ipv6.conf.default.accept_dad=0']);
    bed.veth(a, b, { nameA: 'eth1', nameB: 'eth1' });
    const rt = createNetlinkClient(openNetlinkSocket(NETLINK_ROUTE, { netns: a }));
    try {
      const eth1 = rtnlGetLinks(rt).find((l) => l.name === 'eth1')!.index;
      rtnlNewAddr(rt, { index: eth1, address: 'fd70:1::1', prefixLen: 16, flags: IFA_F_NODAD });
      expect(bed.execOk(a, 'ip', ['-6', '-o', 'addr', 'show', 'dev', 'eth1'])).toContain(
        'inet6 fd70:1::1/16',
      );
      expect(() => rtnlNewAddr(rt, { index: eth1, address: 'fd70:1::1', prefixLen: 16 })).toThrow(
        expect.objectContaining({ errno: 17 }),
      );
      expect(
        rtnlGetAddrs(rt, AF_INET6)
          .filter((x) => x.index === eth1)
          .map((x) => x.address),
      ).toContain('fd70:1::1');

      rtnlNewRoute(rt, { dst: 'fd70:2::2/128', gateway: 'fe80::99', oif: eth1, table: 70, metric: 1024 });
      rtnlNewRoute(rt, { dst: 'fd70:2::2/128', gateway: 'fe80::98', oif: eth1, table: 70, metric: 1024 });
      expect(bed.execOk(a, 'ip', ['-6', 'route', 'show', 'table', '70']).trim()).toBe(
        'fd70:2::2 via fe80::98 dev eth1 proto static metric 1024 pref medium',
      );
      expect(rtnlGetRoutes(rt, AF_INET6, 70)).toMatchObject([
        { dst: 'fd70:2::2/128', gateway: 'fe80::98', oif: eth1 },
      ]);
      rtnlDelRoute(rt, { dst: 'fd70:2::2/128', table: 70 });
      expect(bed.execOk(a, 'ip', ['-6', 'route', 'show', 'table', '70']).trim()).toBe('');

      rtnlNewRule(rt, { family: AF_INET6, priority: 70, table: 70 });
      expect(bed.execOk(a, 'ip', ['-6', 'rule', 'show'])).toMatch(/^70:\s+from all lookup 70/m);
      expect(rtnlGetRules(rt, AF_INET6).some((r) => r.priority === 70 && r.table === 70)).toBe(true);
      rtnlDelRule(rt, { family: AF_INET6, priority: 70, table: 70 });
      expect(bed.execOk(a, 'ip', ['-6', 'rule', 'show'])).not.toMatch(/^70:/m);
      rtnlDelAddr(rt, { index: eth1, address: 'fd70:1::1', prefixLen: 16 });
      expect(bed.execOk(a, 'ip', ['-6', '-o', 'addr', 'show', 'dev', 'eth1'])).not.toContain('fd70:1::1');
    } finally {
      rt.close();
    }
  });
});
