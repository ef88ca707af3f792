/**
 * The own description and own OGMs (docs/protocol.md §4.5, §4.9).
 */

import { encodeTlvBody, FM16_MAX, type Hna6Entry, ip6FromString, type Ogm, TLV_TYPE } from '@bmx7/codec';
import { chainOgmFor, createOgmChain, ogmChainConstant } from '@bmx7/crypto';
import { buildOwnDescription, encodeMetricTlv } from './descriptions.js';
import { hex, unhex } from './hex.js';
import { scheduleOgm } from './ogms.js';
import { pluginHna6, producePluginTlvs } from './plugin-host.js';
import { descAdvFrame, sendDescAdv } from './requests.js';
import { descUpdate } from './rounds.js';
import type { EngineState } from './state.js';
import { trustOn } from './trust.js';

/** Above this burstSqn the next round's description starts the bursts again at 0 (u32 − 999). */
export const BURST_SQN_RENEW = 0xffffffff - 999;
export function ownHna(s: EngineState): Hna6Entry[] {
  const out: Hna6Entry[] = [{ prefixLen: 128, flags: 0, address: s.primary }];
  const seen = new Set([`${hex(s.primary)}/128`]);
  for (const net of s.cfg.unicastHna) {
    const [a, l] = net.split('/');
    let addr: Uint8Array;
    try {
      addr = ip6FromString(a ?? '');
    } catch {
      continue;
    }
    const e = { prefixLen: Number(l ?? 128), flags: 0, address: addr };
    const k = `${hex(addr)}/${e.prefixLen}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(e);
    }
  }
  // entries of plugins (a tunnel endpoint /128 with flag 0x01, §4.14): well-formed and new only
  for (const e of pluginHna6(s)) {
    if (!(e.address instanceof Uint8Array) || e.address.length !== 16) continue;
    if (!Number.isInteger(e.prefixLen) || e.prefixLen < 0 || e.prefixLen > 128) continue;
    const k = `${hex(e.address)}/${e.prefixLen}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ prefixLen: e.prefixLen, flags: e.flags & 0xff, address: e.address });
  }
  return out;
}

export function buildDescription(s: EngineState): void {
  s.descPending = false;
  if (s.burstSqn > BURST_SQN_RENEW) s.burstSqn = 0;
  s.descCounter++;
  if (s.descCounter % 100 === 0) s.c.storage.saveDescSqn(s.descCounter);
  s.descSqn = s.descCounter;
  if (!s.bootSqn) s.bootSqn = s.descSqn;
  const range = s.cfg.ogmSqnRange;
  s.chain = createOgmChain({
    nodeId: s.id,
    descSqn: s.descSqn,
    range,
    random: (n) => s.c.random.bytes(n),
  });
  const bodies = new Map<number, Uint8Array>();
  if (s.linkRsa) bodies.set(TLV_TYPE.RSA_LINK_PUBKEY, s.linkRsa.publicContent);
  if (s.dhm)
    bodies.set(
      TLV_TYPE.DHM_LINK_PUBKEY,
      encodeTlvBody({ type: TLV_TYPE.DHM_LINK_PUBKEY, keyType: s.dhm.type, gx: s.dhm.publicValue }),
    );
  // with trust configured, TRUSTS and SUPPORTS list the entries at level 2 or 3, the node itself
  // included, in ascending id order (sec.c create_dsc_tlv_trusts)
  if (trustOn(s)) {
    const entries = (levels: ReadonlyMap<string, number>) =>
      [...levels]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([id, level]) => ({ nodeId: unhex(id), level, reserved: 0 }));
    if (s.cfg.publishSupportedNodes)
      bodies.set(
        TLV_TYPE.SUPPORTS,
        encodeTlvBody({ type: TLV_TYPE.SUPPORTS, entries: entries(s.ownSupports) }),
      );
    bodies.set(TLV_TYPE.TRUSTS, encodeTlvBody({ type: TLV_TYPE.TRUSTS, entries: entries(s.ownTrusts) }));
  }
  bodies.set(TLV_TYPE.METRIC, encodeMetricTlv(s.cfg.metric));
  const lls = [...new Set([...s.ifs.values()].map((i) => hex(i.ll)))]
    .sort()
    .map((h) => new Uint8Array(Buffer.from(h, 'hex')));
  if (lls.length) bodies.set(TLV_TYPE.LLIP, encodeTlvBody({ type: TLV_TYPE.LLIP, addresses: lls }));
  s.ownHna = ownHna(s);
  bodies.set(TLV_TYPE.HNA6, encodeTlvBody({ type: TLV_TYPE.HNA6, entries: s.ownHna }));
  producePluginTlvs(s, bodies);
  if (s.cfg.describeNodeInfos) {
    bodies.set(
      TLV_TYPE.INFO,
      encodeTlvBody({
        type: TLV_TYPE.INFO,
        infoType: 0,
        infoOffset: 20,
        codeRevision: 0,
        reservedA: 0,
        reservedB: 0,
        reservedC: 0,
        name: s.cfg.hostname.slice(0, 63),
        mail: '',
        extra: new Uint8Array(0),
      }),
    );
  }
  const built = buildOwnDescription({
    nodeKey: s.key,
    descSqn: s.descSqn,
    bootSqn: s.bootSqn,
    ogmSqnRange: range,
    anchor: s.chain.anchor,
    compatibility: s.cfg.compatibility,
    bodies,
  });
  // keep own contents for CONTENT_REQ answers
  if (s.desc) {
    for (const h of s.desc.contents) {
      const c = s.content.get(h);
      if (c && --c.uses <= 0) s.content.delete(h);
    }
  }
  const contents: string[] = [];
  for (const it of built.contents) {
    const h = hex(it.hash);
    const c = s.content.get(h);
    if (c) c.uses++;
    else s.content.set(h, { header: it.header, body: it.body, uses: 1, since: s.c.clock.now() });
    contents.push(h);
  }
  s.desc = {
    bytes: built.bytes,
    dHash: built.dHash,
    dHashHex: hex(built.dHash),
    contents,
    builtAt: s.c.clock.now(),
  };
  s.chainConst = ogmChainConstant(built.dHash, s.chain.anchor, s.id, s.descSqn);
  s.descFrame = descAdvFrame(built.bytes);
  // sent once as DESC_ADV on all interfaces; own OGM sqn restarts at 1 (§4.5)
  for (const ifname of s.ifs.keys()) {
    const f = s.descFrame;
    sendDescAdv(s, f, ifname, () => (s.descFrame === f ? f : undefined));
  }
  s.ogmSqn = 0;
  s.ownOgmNow = true;
  s.c.logger.log(3, 'own description', { descSqn: s.descSqn, size: built.bytes.length });
}

export function ownOgm(s: EngineState): void {
  if (!s.chain || !s.chainConst) return;
  if (s.ogmSqn >= s.chain.range) {
    descUpdate(s); // sqn range used up → new description (§4.5)
    return;
  }
  s.ogmSqn++;
  s.ownOgmNow = false;
  const ogm: Ogm = {
    chainOgm: chainOgmFor(s.chain, s.chainConst, s.ogmSqn),
    iid: 1,
    hops: 0,
    metric: FM16_MAX,
    history: [],
  };
  scheduleOgm(s.agg, { node: s.hex, bytes: 18, ogm });
}
