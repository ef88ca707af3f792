/**
 * Originators (docs/protocol.md §4.9, §4.10): IID_ADV and OGM processing, path evaluation, OGM
 * forwarding and the routes of each originator.
 */

import {
  FM16_MAX,
  FM16_NOT_ROUTABLE,
  FRAME_TYPE,
  type Frame,
  type IidAdv,
  ip6ToString,
  isFm16Valid,
  type Ogm,
} from '@bmx7/codec';
import { chainOgmFor, createChainVerifier, findChainSqn, type OgmChainVerifier } from '@bmx7/crypto';
import { demoteToListed, getKey, track, unref } from './admission.js';
import { umetricFromFm16, umetricToFm16 } from './fm16.js';
import { hex } from './hex.js';
import { IID_MAX_RX, type IidRef, mayRequest, NO_HISTORY, newIidRef, restartRef } from './iids.js';
import { lqOk, timeAwareRq, timeAwareTq } from './links.js';
import { linkThroughput, type MetricParams, pathMetric, UMETRIC_NOT_ROUTABLE } from './metrics.js';
import { bestTqIf } from './neighbours.js';
import { flushNewest, removeOgm, scheduleOgm } from './ogms.js';
import type { PathView } from './plugin.js';
import { consumePluginTlvs } from './plugin-host.js';
import type { Route } from './ports.js';
import { addTask, requestDesc, requestPubkey } from './requests.js';
import { selectPath } from './selection.js';
import { type EngineState, emit, KEY_STATE, type KeyRec, type Link, type Neigh, type Orig } from './state.js';
import { indexFacts, releaseDesc, tryResolve } from './store.js';
import { view } from './tables.js';
import { neighTrusted } from './trust.js';

const FIRST_SQN_MIN_MS = 5_000; // §4.10 "during the first 5 s after X's first accepted sqn"
/** chainOgm XOR C = the anchor link: "sqn 0". */
export function isAnchor(v: OgmChainVerifier, chainOgm: Uint8Array): boolean {
  if (chainOgm.length !== 14) return false;
  for (let i = 0; i < 14; i++) if ((chainOgm[i]! ^ v.constant[i]!) !== v.anchorLink[i]) return false;
  return true;
}

export function onIidAdv(s: EngineState, nb: Neigh, a: IidAdv): void {
  if (a.iid === 0 || a.iid > IID_MAX_RX) return;
  const now = s.c.clock.now();
  const h = hex(a.nodeId);
  let ref = nb.iidRefs.get(a.iid);
  if (!ref) {
    ref = newIidRef(a.iid, now);
    nb.iidRefs.set(a.iid, ref);
  }
  ref.refreshed = now;
  if (ref.node !== h) {
    // a different node id replaces the mapping; other IIDs of this neighbour for that node go
    const other = nb.byNode.get(h);
    if (other !== undefined && other !== a.iid) {
      const r = nb.iidRefs.get(other);
      if (r) unref(s, r);
      nb.iidRefs.delete(other);
    }
    unref(s, ref);
    if (ref.node && nb.byNode.get(ref.node) === a.iid) nb.byNode.delete(ref.node);
    // the key record's own id text, so that every neighbour's ref shares one string
    const node = h === s.hex ? s.hex : getKey(s, a.nodeId, true, h)!.hex;
    ref.node = node;
    nb.byNode.set(node, a.iid);
    restartRef(ref, a.descSqn);
    if (h !== s.hex) s.keys.get(node)!.iidRefCount++;
  } else if (a.descSqn < ref.descSqn) return;
  else if (a.descSqn > ref.descSqn) restartRef(ref, a.descSqn); // a new description of the same node
  if (h === s.hex) return;
  const k = getKey(s, a.nodeId, true, h)!;
  k.lastRef = now;
  if (!k.referrer || !s.keys.get(k.referrer)?.nb) k.referrer = nb.key.hex;
  if (k.state < KEY_STATE.TRACKED) track(s, k);
  if (k.state < KEY_STATE.TRACKED) return;
  const cur = k.current;
  if (!cur || cur.parsed.descSqn < a.descSqn) {
    if (!k.pubkey) requestPubkey(s, k);
    else if (!k.pending || k.pending.parsed.descSqn < a.descSqn) {
      if (mayRequest(ref, now, s.cfg.descRetryIterations, s.cfg.descRetryInterval))
        requestDesc(s, k, undefined, k.id, nb);
    } else tryResolve(s, k);
    return;
  }
  if (cur.parsed.descSqn !== a.descSqn || !cur.verifier) return;
  // learn the current sqn with no path (§4.9 IID_ADV)
  // the anchor itself (sqn 0) proves nothing and would cost a search over the whole range
  const anchor = isAnchor(cur.verifier, a.chainOgm);
  const found = anchor ? 0 : findChainSqn(cur.verifier, a.chainOgm, { fullRange: true });
  if (!anchor && found === 0) s.cnt.iidAdvUnproven++;
  if (found > ref.sqn) {
    ref.sqn = found;
    ref.fm16 = FM16_NOT_ROUTABLE;
    ref.hops = 1;
    ref.history = NO_HISTORY;
    ref.sqnTime = now;
    ref.chainOgm = a.chainOgm;
  }
  const p = ref.pending;
  if (p) {
    ref.pending = undefined;
    processOgm(s, nb, ref, p.chainOgm, p.fm16, p.hops, p.history, false);
  } else evaluate(s, k, nb, ref);
}

export function onOgm(s: EngineState, nb: Neigh, o: Ogm): void {
  if (o.iid === 0 || o.iid > IID_MAX_RX) return;
  const now = s.c.clock.now();
  let ref = nb.iidRefs.get(o.iid);
  if (!ref) {
    ref = newIidRef(o.iid, now);
    nb.iidRefs.set(o.iid, ref);
  }
  ref.refreshed = now;
  processOgm(s, nb, ref, o.chainOgm, o.metric, o.hops, o.history.length ? [...o.history] : NO_HISTORY, true);
}

/** OGM acceptance per message (§4.9 steps 1–4). */
export function processOgm(
  s: EngineState,
  nb: Neigh,
  ref: IidRef,
  chainOgm: Uint8Array,
  fm16: number,
  hops: number,
  history: Ogm['history'][number][],
  mayAsk: boolean,
): void {
  const now = s.c.clock.now();
  if (!ref.node) {
    pendOgm(s, nb, ref, chainOgm, fm16, hops, history, mayAsk, now);
    return;
  }
  if (ref.node === s.hex) {
    // metric attack check (§4.9 step 3)
    if (s.chain && s.chainConst) {
      const v = ownVerifier(s);
      const found = v ? findChainSqn(v, chainOgm, { deviation: s.cfg.ogmSqnDeviation }) : 0;
      if (found > s.ogmSqn || (found === s.ogmSqn && found > 0 && fm16 >= FM16_MAX))
        demoteToListed(s, nb.key);
    }
    return;
  }
  const k = s.keys.get(ref.node);
  const d = k?.current;
  if (!k || !d?.verifier || d.parsed.descSqn < ref.descSqn) {
    if (!k) {
      pendOgm(s, nb, ref, chainOgm, fm16, hops, history, mayAsk, now);
      return;
    }
    // mapped, but its (newer) description is missing: fetch that instead of asking for the IID again
    ref.pending = { chainOgm, fm16, hops, history };
    if (k.state < KEY_STATE.TRACKED) track(s, k);
    else if (!k.pubkey) requestPubkey(s, k);
    else if (k.pending && k.pending.parsed.descSqn >= ref.descSqn) tryResolve(s, k);
    else if (mayAsk && mayRequest(ref, now, s.cfg.descRetryIterations, s.cfg.descRetryInterval))
      requestDesc(s, k, undefined, k.id, nb);
    return;
  }
  const found = findChainSqn(d.verifier, chainOgm, { deviation: s.cfg.ogmSqnDeviation });
  if (found === 0) {
    pendOgm(s, nb, ref, chainOgm, fm16, hops, history, mayAsk, now);
    return;
  }
  if (ref.descSqn < d.parsed.descSqn) restartRef(ref, d.parsed.descSqn);
  if (found < ref.sqn) return;
  if (found > ref.sqn) {
    // one copy of a verified chainOgm per sqn, shared by the refs of every neighbour that sends it
    const c = k.chain;
    if (c && c.descSqn === d.parsed.descSqn && c.sqn === found) chainOgm = c.bytes;
    else k.chain = { descSqn: d.parsed.descSqn, sqn: found, bytes: chainOgm };
    ref.sqn = found;
    ref.fm16 = fm16;
    ref.hops = hops + 1;
    ref.history = history;
    ref.sqnTime = now;
    ref.chainOgm = chainOgm;
  } else if (fm16 > ref.fm16) {
    ref.fm16 = fm16;
    ref.hops = hops + 1;
    ref.history = history;
  }
  evaluate(s, k, nb, ref);
}

/** An OGM waits for its IID mapping or description; the IID is asked for, rate-limited (§4.9 step 1). */
export function pendOgm(
  s: EngineState,
  nb: Neigh,
  ref: IidRef,
  chainOgm: Uint8Array,
  fm16: number,
  hops: number,
  history: Ogm['history'][number][],
  mayAsk: boolean,
  now: number,
): void {
  ref.pending = { chainOgm, fm16, hops, history };
  if (!mayAsk || !mayRequest(ref, now, s.cfg.descRetryIterations, s.cfg.descRetryInterval)) return;
  const ifname = bestTqIf(s, nb);
  if (!ifname) return;
  addTask(s, {
    type: FRAME_TYPE.IID_REQ,
    ifname,
    group: nb.key.id,
    key: String(ref.iid),
    tries: s.cfg.resolveIterations,
    interval: s.cfg.resolveInterval,
    due: now,
    produce: () =>
      ref.pending && nb.iidRefs.get(ref.iid) === ref ? { kind: 'iidReq', iid: ref.iid } : undefined,
  });
}

export function ownVerifier(s: EngineState): OgmChainVerifier | undefined {
  if (!s.desc || !s.chain) return undefined;
  const v = createChainVerifier({
    descriptionHash: s.desc.dHash,
    anchor: s.chain.anchor,
    nodeId: s.id,
    descSqn: s.descSqn,
    range: s.chain.range,
  });
  if (s.ogmSqn > 0) {
    v.maxRcvd = s.ogmSqn;
    v.linkMaxRcvd = chainOgmFor(s.chain, s.chainConst!, s.ogmSqn).map((b, i) => b ^ s.chainConst![i]!);
  }
  return v;
}

/** The neighbour's offer via its best lq-ok link (§4.10 "The neighbour's offer"). */
export function offer(
  s: EngineState,
  k: KeyRec,
  nb: Neigh,
  claimed: bigint,
  history: Ogm['history'],
): { um: bigint; link: Link | undefined } {
  const now = s.c.clock.now();
  const p = k.current!.facts!.metric;
  let best: { um: bigint; link: Link | undefined } = { um: UMETRIC_NOT_ROUTABLE, link: undefined };
  for (const l of nb.links.values()) {
    if (!lqOk(l.q, now, s.cfg.linkTimeout, s.cfg.minLinkQuality)) continue;
    const ifc = s.ifs.get(l.ifname);
    if (!ifc) continue;
    const rate = ifc.info.rateMax ?? 1_000_000_000n;
    const channel = ifc.info.channel ?? 0;
    const um = pathMetric(
      {
        claimed,
        rq: timeAwareRq(l.q, now, s.cfg.linkTimeout),
        tq: timeAwareTq(l.q, now, s.cfg.linkTimeout),
        rateMax: rate,
        wireless: channel !== 0,
        channel,
        history: history.map((h) => ({ metric: umetricFromFm16(h.metric), channel: h.channel })),
      },
      p,
    );
    if (um > best.um) best = { um, link: l };
  }
  return best;
}

/** Path evaluation for originator k with neighbour nb's ref (§4.10 "Path selection"). */
export function evaluate(s: EngineState, k: KeyRec, nb: Neigh, ref: IidRef): void {
  const o = k.orig;
  const d = k.current;
  if (!o || !d?.facts || ref.descSqn !== d.parsed.descSqn || !isFm16Valid(ref.fm16)) return;
  const now = s.c.clock.now();
  const p = d.facts.metric;
  const claimed = umetricFromFm16(ref.fm16);
  // not applicable at all: older sqn, or same sqn without a better claim (§4.10)
  if (ref.sqn < o.sqn || !(ref.sqn > o.sqn || claimed > o.um)) return;
  let cand = offer(s, k, nb, claimed, ref.history);
  const minimum = o.minimum;
  const lexGreater =
    d.parsed.descSqn > minimum[0] ||
    (d.parsed.descSqn === minimum[0] &&
      (ref.sqn > minimum[1] || (ref.sqn === minimum[1] && ref.fm16 > minimum[2])));
  // the originator's TRUSTS decide which neighbours may carry its traffic (§4.11)
  if (
    !neighTrusted(s, k, nb.key.hex) ||
    !lexGreater ||
    claimed < p.pathMetricMin ||
    claimed === UMETRIC_NOT_ROUTABLE ||
    ref.hops < 1
  ) {
    cand = { um: UMETRIC_NOT_ROUTABLE, link: undefined };
  }
  if (cand.um <= UMETRIC_NOT_ROUTABLE) cand = { um: UMETRIC_NOT_ROUTABLE, link: undefined };
  const r = selectPath(
    { sqn: o.sqn, um: o.um, link: o.link?.id },
    {
      sqn: ref.sqn,
      claimed,
      um: cand.um,
      link: cand.link?.id,
      sqnAgeMs: now - ref.sqnTime,
      bestSince: ref.bestSince,
    },
    p,
  );
  if (r.skipped) return;
  ref.bestSince = r.bestSince;
  if (!r.rule) {
    if (r.retryInMs !== undefined && r.retryInMs > 0 && !o.retry) {
      o.retry = s.c.clock.schedule(r.retryInMs, () => {
        o.retry = undefined;
        if (s.running && k.orig === o && nb.iidRefs.get(ref.iid) === ref) evaluate(s, k, nb, ref);
      });
    }
    return;
  }
  o.retry?.();
  o.retry = undefined;
  const linkChanged = o.link !== cand.link;
  const before = s.listeners.size ? pathOf(o) : undefined;
  o.sqn = ref.sqn;
  o.um = cand.um;
  o.fm16 = cand.um > UMETRIC_NOT_ROUTABLE ? umetricToFm16(cand.um) : FM16_NOT_ROUTABLE;
  if (o.link !== cand.link) {
    o.link?.routed.delete(k);
    cand.link?.routed.add(k);
  }
  o.link = cand.link;
  o.hops = ref.hops;
  o.history = ref.history;
  o.chainOgm = ref.chainOgm;
  if (o.firstAccept < 0) o.firstAccept = now;
  o.minimum =
    now - o.firstAccept < FIRST_SQN_MIN_MS
      ? [d.parsed.descSqn, o.sqn + 1, 0]
      : [d.parsed.descSqn, o.sqn, o.fm16];
  scheduleOrigOgm(s, k);
  if (linkChanged) updateRoutes(s, k);
  if (before) {
    const after = pathOf(o);
    const hopChanged = before.via?.address !== after.via?.address || before.via?.dev !== after.via?.dev;
    if (hopChanged || before.metric !== after.metric || before.hops !== after.hops) {
      const node = view(k);
      if (linkChanged) emit(s, { type: 'route-changed', node });
      emit(s, { type: 'path-changed', node, previous: before });
    }
  }
}

/**
 * Withdraws an originator's route (its link went, or its TRUSTS no longer allow the next hop):
 * not routable until an OGM offers another path (§4.10 "Purge").
 */
export function unroute(s: EngineState, k: KeyRec): void {
  const o = k.orig;
  if (!o?.link) return;
  const before = s.listeners.size ? pathOf(o) : undefined;
  o.link.routed.delete(k);
  o.link = undefined;
  o.um = UMETRIC_NOT_ROUTABLE;
  o.fm16 = FM16_NOT_ROUTABLE;
  updateRoutes(s, k);
  scheduleOrigOgm(s, k);
  if (before) {
    const node = view(k);
    emit(s, { type: 'route-changed', node });
    emit(s, { type: 'path-changed', node, previous: before });
  }
}

/**
 * Trust changed (an originator's TRUSTS, or the own trust list, which a level-3 entry may refer
 * to): every route whose next hop its originator no longer trusts goes at once (sec.c
 * update_neighTrust → purge_orig_router).
 */
export function recheckTrust(s: EngineState): void {
  for (const k of s.keys.values()) {
    const l = k.orig?.link;
    if (l && !neighTrusted(s, k, l.nb.key.hex)) unroute(s, k);
  }
}

/** The path of an originator as events report it (metric 0: not routable). */
function pathOf(o: Orig): PathView {
  const routed = !!o.link && o.um > UMETRIC_NOT_ROUTABLE;
  const p: PathView = { metric: routed ? Number(o.um) : 0, hops: o.hops };
  if (routed) p.via = { dev: o.link!.ifname, address: o.link!.addr };
  return p;
}

/** (Re)schedules an originator's OGM into the newest aggregation (§4.9 "forwarding"). */
export function scheduleOrigOgm(s: EngineState, k: KeyRec): void {
  const o = k.orig;
  if (!o?.chainOgm || o.sqn < 1) return;
  const p = k.current?.facts?.metric;
  if (p && o.hops >= p.maxHops) return;
  const history = hopHistory(s, k, o, p);
  const ogm: Ogm = {
    chainOgm: o.chainOgm,
    iid: o.iid,
    hops: o.hops,
    metric: o.fm16 || FM16_NOT_ROUTABLE,
    history,
  };
  if (scheduleOgm(s.agg, { node: k.hex, bytes: 18 + 3 * history.length, ogm })) flushAggregation(s);
}

/**
 * Hop history of a forwarded OGM (§4.9): only with CP in the originator's algorithm; my own link
 * first if its interface is not exclusive, then the received entries with channel ≠ 0, at most
 * the originator's ogmHistorySize.
 */
export function hopHistory(
  s: EngineState,
  k: KeyRec,
  o: Orig,
  p: MetricParams | undefined,
): Ogm['history'][number][] {
  if (!p || !(p.algo & 1) || p.ogmHistorySize === 0 || !o.link) return [];
  const out: Ogm['history'][number][] = [];
  const ifc = s.ifs.get(o.link.ifname);
  const channel = ifc?.info.channel ?? 0;
  if (channel !== 0) {
    const now = s.c.clock.now();
    const tp = linkThroughput(
      timeAwareRq(o.link.q, now, s.cfg.linkTimeout),
      timeAwareTq(o.link.q, now, s.cfg.linkTimeout),
      ifc?.info.rateMax ?? 1_000_000_000n,
      true,
      p,
    );
    out.push({ metric: umetricToFm16(tp), directional: false, channel });
  }
  for (const h of o.history) if (h.channel !== 0 && out.length < p.ogmHistorySize) out.push(h);
  void k;
  return out.slice(0, p.ogmHistorySize);
}

export function flushAggregation(s: EngineState): void {
  const f = flushNewest(s.agg);
  if (!f) return;
  s.aggLastFlushed = f.sqn;
  const frame: Frame = { type: FRAME_TYPE.OGM_ADV, aggSqn: f.sqn, ogms: f.ogms.map((x) => x.ogm) };
  for (const ifname of s.ifs.keys()) {
    addTask(s, {
      type: FRAME_TYPE.OGM_ADV,
      ifname,
      group: undefined,
      key: `agg${f.sqn}`,
      tries: 1,
      interval: s.cfg.txFrameInterval,
      due: s.c.clock.now(),
      produce: () => ({ kind: 'frame', frame }),
    });
  }
}

export function updateRoutes(s: EngineState, k: KeyRec): void {
  const o = k.orig;
  const facts = k.current?.facts;
  if (!o || !facts || !o.link || o.um <= UMETRIC_NOT_ROUTABLE) {
    s.routes.setOwner(k.hex, []);
    return;
  }
  const routes: Route[] = [];
  for (const e of facts.hna) {
    if (e.flags & 0x01) continue; // DESC_MSG_HNA_FLAG_NO_ROUTE
    routes.push({
      prefix: `${ip6ToString(e.address)}/${e.prefixLen}`,
      via: o.link.addr,
      dev: o.link.ifname,
      metric: s.cfg.routeMetric,
    });
  }
  s.routes.setOwner(k.hex, routes);
}

export function dropOrig(s: EngineState, k: KeyRec): void {
  const o = k.orig;
  if (!o) return;
  o.retry?.();
  o.link?.routed.delete(k);
  s.routes.setOwner(k.hex, []);
  s.iids.free(o.iid);
  removeOgm(s.agg, k.hex);
  const kept = k.current?.kept;
  const node = kept ? view(k) : undefined;
  k.orig = undefined;
  // forget the applied description too: referenced again with the same descSqn, it is fetched
  // and applied anew, which creates the originator again (otherwise #evaluate never routes it)
  indexFacts(s, k, k.current?.facts, undefined);
  releaseDesc(s, k.current);
  k.current = undefined;
  if (k.state >= KEY_STATE.PROMOTED) k.state = KEY_STATE.CERTIFIED;
  // plugins learn that the node's TLVs are gone, then that the node is
  if (kept) consumePluginTlvs(s, node!, undefined, kept);
  emit(s, { type: 'node-gone', id: k.hex });
}
