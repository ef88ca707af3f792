import { describeNetns } from '@bmx7/testenv/env';
import { createNetnsBed } from '@bmx7/testenv/netns';
import { afterAll, expect, it } from 'vitest';
import { createNetlinkClient } from './client.js';
import { NetlinkError } from './errors.js';
import { decodeFamily, encodeGetFamily, GENL_ID_CTRL } from './genl.js';
import { NETLINK_GENERIC, NETLINK_ROUTE, NLM_F_ACK } from './nlmsg.js';
import { IFF_UP, rtnlDelLink, rtnlGetLinks, rtnlNewLink, rtnlSetLink, vethInfoData } from './rtnl-link.js';
import { openNetlinkSocket } from './socket.js';

describeNetns('Linux netlink socket', () => {
  const bed = createNetnsBed('nl');
  afterAll(() => bed.cleanup());

  it('creates, lists, brings up and deletes links inside a namespace, and reports errno', () => {
    const ns = bed.ns('a');
    const rt = createNetlinkClient(openNetlinkSocket(NETLINK_ROUTE, { netns: ns }));
    try {
      const [a, b] = [bed.name('x0'), bed.name('x1')];
      rtnlNewLink(rt, { name: a, kind: 'veth', infoData: vethInfoData(b) });
      const listed = rtnlGetLinks(rt);
      expect(listed.map((l) => l.name)).toEqual(expect.arrayContaining(['lo', a, b]));
      expect(listed.find((l) => l.name === a)?.kind).toBe('veth');
      // The link exists in the namespace only, not in the test's own.
      expect(bed.execOk(ns, 'ip', ['-o', 'link', 'show', a])).toContain(a);
      const idx = listed.find((l) => l.name === a)!.index;
      rtnlSetLink(rt, { index: idx, flags: IFF_UP, change: IFF_UP });
      expect(bed.execOk(ns, 'ip', ['-o', 'link', 'show', a])).toMatch(/[<,]UP[,>]/);
      try {
        rtnlNewLink(rt, { name: a, kind: 'veth', infoData: vethInfoData(bed.name('x2')) });
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(NetlinkError);
        expect((err as NetlinkError).errno).toBe(17);
      }
      rtnlDelLink(rt, { name: a });
      expect(rtnlGetLinks(rt).map((l) => l.name)).toEqual(['lo']);
      expect(() => rtnlDelLink(rt, { name: a })).toThrow(expect.objectContaining({ errno: 19 }));
    } finally {
      rt.close();
    }
  });

  it('resolves generic netlink families, ENOENT for an unknown one', () => {
    const g = createNetlinkClient(openNetlinkSocket(NETLINK_GENERIC));
    try {
      const r = g.request(GENL_ID_CTRL, NLM_F_ACK, encodeGetFamily('nlctrl'));
      expect(decodeFamily(r[0]!.payload)).toMatchObject({
        ok: true,
        value: { id: GENL_ID_CTRL, name: 'nlctrl' },
      });
      expect(() => g.request(GENL_ID_CTRL, NLM_F_ACK, encodeGetFamily('no-such-family'))).toThrow(
        expect.objectContaining({ code: 'ERR_NETLINK', errno: 2 }),
      );
    } finally {
      g.close();
    }
  });
});
