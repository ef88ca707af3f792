/**
 * Requests and answers (docs/protocol.md §4.3, §4.5, §4.9): where to ask for a key, a description,
 * a content or an IID, and the answers to such requests.
 */

import { decodeDescription, FRAME_TYPE, type Frame, type IidAdv } from '@bmx7/codec';
import { chainOgmAt, chainOgmFor } from '@bmx7/crypto';
import { hex } from './hex.js';
import { bestTqIf } from './neighbours.js';
import { aggregationContent } from './ogms.js';
import { armRound, nextRoundDelay } from './rounds.js';
import type { EngineState, KeyRec, Neigh } from './state.js';
import { nodeKeyContent } from './store.js';
import type { TxTask } from './tx.js';

/** Where to send a request about node k: to k itself if it talks to us, else via its referrer (§4.3). */
export function requestRoute(s: EngineState, k: KeyRec): { dest: Uint8Array; ifnames: string[] } | undefined {
  const now = s.c.clock.now();
  if (now - k.lastPacket < s.cfg.linkTimeout) return { dest: k.id, ifnames: [...s.ifs.keys()] };
  const r = k.referrer ? s.keys.get(k.referrer) : undefined;
  if (r?.nb) {
    const ifn = bestTqIf(s, r.nb);
    if (ifn) return { dest: r.id, ifnames: [ifn] };
  }
  return undefined;
}

export function requestPubkey(s: EngineState, k: KeyRec): void {
  wantContent(s, k.id, k.hex);
}

export function wantContent(s: EngineState, hash: Uint8Array, owner: string): void {
  const h = hex(hash);
  let owners = s.wanted.get(h);
  if (!owners) {
    owners = new Set();
    s.wanted.set(h, owners);
  }
  owners.add(owner);
  const k = s.keys.get(owner);
  if (!k) return;
  const route = requestRoute(s, k);
  if (!route) return;
  for (const ifname of route.ifnames) {
    addTask(s, {
      type: FRAME_TYPE.CONTENT_REQ,
      ifname,
      group: route.dest,
      key: h,
      tries: s.cfg.resolveIterations,
      interval: s.cfg.resolveInterval,
      due: s.c.clock.now(),
      produce: () => (s.wanted.has(h) ? { kind: 'contentReq', hash } : undefined),
    });
  }
}

export function requestDesc(
  s: EngineState,
  k: KeyRec,
  ifname: string | undefined,
  id: Uint8Array,
  via?: Neigh,
): void {
  let dest = k.id;
  let ifnames = ifname ? [ifname] : [...s.ifs.keys()];
  if (via) {
    dest = via.key.id;
    const b = bestTqIf(s, via);
    if (!b) return;
    ifnames = [b];
  } else if (!ifname) {
    const r = requestRoute(s, k);
    if (!r) return;
    dest = r.dest;
    ifnames = r.ifnames;
  }
  const wantSqn = () => k.pending?.parsed.descSqn ?? k.current?.parsed.descSqn ?? -1;
  const before = wantSqn();
  for (const ifn of ifnames) {
    addTask(s, {
      type: FRAME_TYPE.DESC_REQ,
      ifname: ifn,
      group: dest,
      key: hex(id),
      tries: s.cfg.resolveIterations,
      interval: s.cfg.resolveInterval,
      due: s.c.clock.now(),
      produce: () => (wantSqn() === before || !k.pubkey ? { kind: 'descReq', id } : undefined),
    });
  }
}

export function addTask(s: EngineState, t: TxTask): void {
  if (!s.ifs.has(t.ifname)) return;
  s.tx.add(t);
  if (s.running) armRound(s, nextRoundDelay(s));
}

export function answerDescReq(s: EngineState, id: Uint8Array, ifname: string, verified: boolean): void {
  const h = hex(id);
  if (h === s.hex) {
    if (s.descFrame) sendDescAdv(s, s.descFrame, ifname, () => s.descFrame);
    return;
  }
  const k = s.keys.get(h);
  if (!verified || !k?.current || !k.orig) return;
  const cur = k.current;
  sendDescAdv(
    s,
    undefined,
    ifname,
    () => (k.current === cur ? descAdvFrame(cur.parsed.bytes) : undefined),
    h,
  );
}

export function descAdvFrame(bytes: Uint8Array): Frame | undefined {
  const d = decodeDescription(bytes);
  return d.ok ? { type: FRAME_TYPE.DESC_ADV, description: d.value } : undefined;
}

export function sendDescAdv(
  s: EngineState,
  frame: Frame | undefined,
  ifname: string,
  check: () => Frame | undefined,
  keyHex = s.hex,
): void {
  void frame;
  addTask(s, {
    type: FRAME_TYPE.DESC_ADV,
    ifname,
    group: undefined,
    key: keyHex,
    tries: 1,
    interval: s.cfg.txFrameInterval,
    due: s.c.clock.now(),
    produce: () => {
      const f = check();
      return f ? { kind: 'frame', frame: f } : undefined;
    },
  });
}

export function answerContentReq(s: EngineState, hash: Uint8Array, ifname: string, verified: boolean): void {
  const h = hex(hash);
  const c = s.content.get(h) ?? nodeKeyContent(s, h);
  if (!c || c.body.length > 1197) return;
  const own = s.desc?.contents.includes(h) ?? false;
  if (!verified && !own) return;
  addTask(s, {
    type: FRAME_TYPE.CONTENT_ADV,
    ifname,
    group: undefined,
    key: h,
    tries: 1,
    interval: s.cfg.txFrameInterval,
    due: s.c.clock.now(),
    produce: () => {
      const cc = s.content.get(h) ?? nodeKeyContent(s, h);
      return cc
        ? {
            kind: 'frame',
            frame: {
              type: FRAME_TYPE.CONTENT_ADV,
              gzip: (cc.header & 1) === 1,
              nesting: cc.header >> 1,
              reserved: 0,
              body: cc.body,
            },
          }
        : undefined;
    },
  });
}

export function answerOgmReq(s: EngineState, nb: Neigh, sqn: number): void {
  const ifname = bestTqIf(s, nb);
  if (!ifname) return;
  if (aggregationContent(s.agg, sqn) === undefined || ((s.aggLastFlushed - sqn) & 0xffff) > 255) return;
  addTask(s, {
    type: FRAME_TYPE.OGM_ADV,
    ifname,
    group: undefined,
    key: `req${sqn}`,
    tries: 1,
    interval: s.cfg.txFrameInterval,
    due: s.c.clock.now(),
    produce: () => {
      const c = aggregationContent(s.agg, sqn);
      return c
        ? { kind: 'frame', frame: { type: FRAME_TYPE.OGM_ADV, aggSqn: sqn, ogms: c.map((x) => x.ogm) } }
        : undefined;
    },
  });
}

export function answerIidReq(s: EngineState, nb: Neigh, iid: number): void {
  const node = s.iids.get(iid);
  if (!node) return;
  const ifname = bestTqIf(s, nb);
  if (!ifname) return;
  addTask(s, {
    type: FRAME_TYPE.IID_ADV,
    ifname,
    group: nb.key.id,
    key: String(iid),
    tries: 1,
    interval: s.cfg.txFrameInterval,
    due: s.c.clock.now(),
    produce: () => {
      const m = iidAdvOf(s, iid);
      return m ? { kind: 'iidAdv', msg: m } : undefined;
    },
  });
}

export function iidAdvOf(s: EngineState, iid: number): IidAdv | undefined {
  const node = s.iids.get(iid);
  if (!node) return undefined;
  if (node === s.hex) {
    if (!s.chain || !s.chainConst || s.ogmSqn < 1) return undefined;
    return {
      iid,
      descSqn: s.descSqn,
      chainOgm: chainOgmFor(s.chain, s.chainConst, s.ogmSqn),
      nodeId: s.id,
    };
  }
  const k = s.keys.get(node);
  const v = k?.current?.verifier;
  // nothing to prove before the first sqn of its current description (§4.9)
  if (!k?.orig || !v || k.orig.sqn < 1) return undefined;
  const chainOgm = k.orig.chainOgm ?? chainOgmAt(v, Math.min(k.orig.sqn, v.maxRcvd));
  if (!chainOgm) return undefined;
  return { iid, descSqn: k.current!.parsed.descSqn, chainOgm, nodeId: k.id };
}
