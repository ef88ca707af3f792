/**
 * Neighbours and their links (docs/protocol.md §4.4, §4.10): the best link, link-quality checks,
 * link purges and the pairwise DHM secret.
 */

import { dhmSecret } from '@bmx7/crypto';
import { lqOk, timeAwareRq, timeAwareTq } from './links.js';
import { unroute } from './originators.js';
import type { EngineState, KeyRec, Link, Neigh } from './state.js';

export function purgeLink(s: EngineState, l: Link): void {
  l.nb.links.delete(l.id);
  s.links.delete(l.id);
  // routes over it are withdrawn (§4.10 "Purge")
  for (const k of [...l.routed]) {
    if (k.orig?.link === l) unroute(s, k);
    else l.routed.delete(k);
  }
}

/** The pairwise DHM secret (§4.4), computed on first use: only neighbours ever need it. */
export function secretOf(s: EngineState, k: KeyRec): Uint8Array | undefined {
  if (k.dhmSecret) return k.dhmSecret;
  const g = k.current?.facts?.dhmKey;
  if (!s.dhm || !g || g.type !== s.dhm.type) return undefined;
  const r = dhmSecret(s.dhm, g.gx);
  if (r.ok) k.dhmSecret = r.value;
  return k.dhmSecret;
}

export function bestTqLink(s: EngineState, nb: Neigh): Link | undefined {
  const now = s.c.clock.now();
  let best: Link | undefined;
  let bestTq = -1;
  let bestRq: Link | undefined;
  let bestRqV = -1;
  for (const l of nb.links.values()) {
    const tq = timeAwareTq(l.q, now, s.cfg.linkTimeout);
    const rq = timeAwareRq(l.q, now, s.cfg.linkTimeout);
    if (tq > bestTq) {
      bestTq = tq;
      best = l;
    }
    if (rq > bestRqV) {
      bestRqV = rq;
      bestRq = l;
    }
  }
  return bestTq > 0 ? best : bestRq;
}

export function bestTqIf(s: EngineState, nb: Neigh): string | undefined {
  return bestTqLink(s, nb)?.ifname;
}

export function nbLqOk(s: EngineState, nb: Neigh): boolean {
  if (s.cfg.listenOnly) return true;
  const l = bestTqLink(s, nb);
  return !!l && lqOk(l.q, s.c.clock.now(), s.cfg.linkTimeout, s.cfg.minLinkQuality);
}
