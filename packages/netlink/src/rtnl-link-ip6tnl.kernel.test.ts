/**
 * ip6tnl link messages against the real kernel (the QEMU VM: `pnpm test:vm rtnl-link`): a device
 * made by iproute2 decodes to the parameters it was given, a device made and changed by this
 * package reads back the same through iproute2, and deletion leaves nothing.
 *
 *   ns n: ip6tnl devices only, no traffic (packages/tun carries traffic in its kernel tests)
 *
 * Elsewhere the suite reports itself skipped with the reason.
 */
import { describeKernel } from '@bmx7/testenv/env';
import { createNetnsBed, type NetnsBed } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNetlinkClient, type NetlinkClient } from './client.js';
import { NETLINK_ROUTE } from './nlmsg.js';
import {
  IFF_UP,
  IN6_ADDR_GEN_MODE_NONE,
  IP6_TNL_F_IGN_ENCAP_LIMIT,
  IP6_TNL_F_USER_MASK,
  IPPROTO_IPIP,
  IPPROTO_IPV6,
  ip6tnlParms,
  rtnlDelLink,
  rtnlGetLink,
  rtnlGetLinks,
  rtnlNewLink,
  rtnlSetLink,
} from './rtnl-link.js';
import { openNetlinkSocket } from './socket.js';

interface IpLink {
  ifname: string;
  mtu: number;
  flags: string[];
  linkinfo?: { info_kind: string; info_data?: Record<string, unknown> };
}

describeKernel('rtnetlink ip6tnl links on the kernel', ['ip6tnl'], () => {
  let bed: NetnsBed;
  let ns = '';
  let rt: NetlinkClient;
  const show = (dev: string) =>
    (JSON.parse(bed.execOk(ns, 'ip', ['-d', '-j', 'link', 'show', 'dev', dev])) as IpLink[])[0]!;

  beforeAll(() => {
    bed = createNetnsBed('nl6');
    ns = bed.ns('n');
    rt = createNetlinkClient(openNetlinkSocket(NETLINK_ROUTE, { netns: ns }));
  });
  afterAll(() => {
    rt?.close();
    bed?.cleanup();
  });

  it('decodes a device iproute2 made (mode ip6ip6, hop limit, encapsulation limit, flow label)', () => {
    const dev = bed.name('ip');
    bed.execOk(ns, 'ip', [
      ...['link', 'add', dev, 'mtu', '1300', 'type', 'ip6tnl', 'mode', 'ip6ip6'],
      ...[
        'local',
        'fd98::1',
        'remote',
        'fd98::2',
        'hoplimit',
        '5',
        'encaplimit',
        '3',
        'flowlabel',
        '0x12345',
      ],
    ]);
    const l = rtnlGetLink(rt, { name: dev });
    expect(l).toMatchObject({ name: dev, kind: 'ip6tnl', mtu: 1300 });
    expect(l?.ip6tnl).toMatchObject({
      local: 'fd98::1',
      remote: 'fd98::2',
      hopLimit: 5,
      encapLimit: 3,
      flowinfo: 0x12345,
      proto: IPPROTO_IPV6,
      link: 0,
    });
    expect((l?.ip6tnl?.flags ?? 0) & IP6_TNL_F_USER_MASK).toBe(0);
    expect(rtnlGetLinks(rt).find((x) => x.name === dev)?.ip6tnl).toEqual(l?.ip6tnl);
    bed.execOk(ns, 'ip', ['link', 'del', dev]);
    expect(rtnlGetLink(rt, { name: dev })).toBeUndefined();
  });

  it('makes, sets up, changes and deletes a device that iproute2 reads as given', () => {
    const dev = bed.name('nl');
    rtnlNewLink(rt, {
      name: dev,
      mtu: 1400,
      ip6tnl: ip6tnlParms({
        local: 'fd98::1',
        remote: '::',
        flags: IP6_TNL_F_IGN_ENCAP_LIMIT,
        encapLimit: 0,
      }),
    });
    const made = rtnlGetLink(rt, { name: dev })!;
    rtnlSetLink(rt, { index: made.index, addrGenMode: IN6_ADDR_GEN_MODE_NONE });
    rtnlSetLink(rt, { index: made.index, flags: IFF_UP, change: IFF_UP });
    expect(rtnlGetLink(rt, { index: made.index })?.addrGenMode).toBe(IN6_ADDR_GEN_MODE_NONE);
    expect(bed.execOk(ns, 'ip', ['-6', 'addr', 'show', 'dev', dev]).trim()).toBe('');
    let l = show(dev);
    expect(l.mtu).toBe(1400);
    expect(l.flags).toContain('UP');
    expect(l.linkinfo?.info_kind).toBe('ip6tnl');
    expect(l.linkinfo?.info_data).toMatchObject({ proto: 'any', local: 'fd98::1' });
    expect(bed.execOk(ns, 'ip', ['-d', 'link', 'show', 'dev', dev])).toMatch(
      /encaplimit none.*hoplimit 64|hoplimit 64.*encaplimit none/s,
    );

    // A change in place: RTM_NEWLINK on the index with every parameter (changelink starts from zeros).
    rtnlSetLink(rt, {
      index: made.index,
      mtu: 1280,
      ip6tnl: ip6tnlParms({ local: 'fd98::3', remote: 'fd98::4', hopLimit: 7, proto: IPPROTO_IPIP }),
    });
    l = show(dev);
    expect(l.mtu).toBe(1280);
    expect(l.linkinfo?.info_data).toMatchObject({ proto: 'ipip6', local: 'fd98::3', remote: 'fd98::4' });
    expect(rtnlGetLink(rt, { index: made.index })?.ip6tnl).toMatchObject({
      local: 'fd98::3',
      remote: 'fd98::4',
      hopLimit: 7,
      encapLimit: 4,
      proto: IPPROTO_IPIP,
    });
    expect(rtnlGetLink(rt, { index: made.index })?.stats).toMatchObject({ rxPackets: 0, txPackets: 0 });

    rtnlDelLink(rt, { index: made.index });
    expect(bed.exec(ns, 'ip', ['link', 'show', 'dev', dev]).status).not.toBe(0);
    expect(() => rtnlDelLink(rt, { name: dev })).toThrow(expect.objectContaining({ errno: 19 }));
  });

  it('refuses a change of kind and a second device with the same ends', () => {
    const a = bed.name('ea');
    rtnlNewLink(rt, { name: a, ip6tnl: ip6tnlParms({ local: 'fd98::5', remote: 'fd98::6' }) });
    expect(() =>
      rtnlNewLink(rt, { name: bed.name('eb'), ip6tnl: ip6tnlParms({ local: 'fd98::5', remote: 'fd98::6' }) }),
    ).toThrow(expect.objectContaining({ errno: 17 }));
    expect(rtnlGetLink(rt, { name: bed.name('eb') })).toBeUndefined();
    expect(() =>
      rtnlSetLink(rt, { name: 'lo', ip6tnl: ip6tnlParms({ local: 'fd98::7', remote: '::' }) }),
    ).toThrow(expect.objectContaining({ errno: 95 }));
    rtnlDelLink(rt, { name: a });
  });
});
