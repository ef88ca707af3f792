/**
 * Maintenance once a second (docs/protocol.md §4.10 "Purge", §4.11 timers, §4.12): timeouts,
 * link key renewal, re-requests, content expiry and the credit limits.
 */

import { createDhmKey, generateRsaKey } from '@bmx7/crypto';
import {
  demoteToListed,
  dropNeighbor,
  fixLimits,
  forgetKey,
  TRACKED_PROMOTION_MS,
  track,
  unref,
  valued,
} from './admission.js';
import { unhex } from './hex.js';
import { IID_REF_TIMEOUT } from './iids.js';
import { nbLqOk, purgeLink } from './neighbours.js';
import { dropOrig } from './originators.js';
import { requestPubkey, wantContent } from './requests.js';
import { descUpdate } from './rounds.js';
import { type EngineState, KEY_STATE, MAINTENANCE_MS } from './state.js';
import { tryResolve } from './store.js';

/**
 * Link keys expire after linkKeyLifetime; the first of each kind after a random 1…lifetime s
 * (§4.5, §4.7). A renewal makes a new description; DHM secrets with the old key are dropped.
 */
export function renewLinkKeys(s: EngineState, now: number): void {
  const life = s.cfg.linkKeyLifetime * 1000;
  if (!life) return;
  const first = () => now + Math.max(1000, Math.floor(s.c.random.float() * life));
  if (s.dhmExpiry === undefined) s.dhmExpiry = first();
  if (s.rsaExpiry === undefined) s.rsaExpiry = first();
  let renewed = false;
  if (s.dhm && now >= s.dhmExpiry) {
    s.dhm = createDhmKey(s.dhm.type);
    for (const k of s.keys.values()) k.dhmSecret = undefined;
    s.dhmExpiry = now + life;
    renewed = true;
  }
  if (s.linkRsa && now >= s.rsaExpiry) {
    s.linkRsa = generateRsaKey(s.linkRsa.type);
    s.rsaExpiry = now + life;
    renewed = true;
  }
  if (renewed) descUpdate(s);
}

export function armMaintenance(s: EngineState): void {
  s.maintCancel = s.c.clock.schedule(MAINTENANCE_MS, () => {
    if (!s.running) return;
    maintenance(s);
    armMaintenance(s);
  });
}

export function maintenance(s: EngineState): void {
  const now = s.c.clock.now();
  renewLinkKeys(s, now);
  const T = s.cfg.linkTimeout;
  for (const l of [...s.links.values()]) if (now - l.lastHello >= T) purgeLink(s, l);
  for (const k of [...s.keys.values()]) {
    // the packet credit ends linkTimeout after the last packet, and takes nQualifying with it
    if (k.qualifyingUntil > now && now - k.lastPacket > T) k.qualifyingUntil = 0;
    const nb = k.nb;
    if (nb) {
      for (const [i, ref] of nb.iidRefs) {
        if (now - ref.refreshed >= IID_REF_TIMEOUT) {
          unref(s, ref);
          nb.iidRefs.delete(i);
          if (ref.node && nb.byNode.get(ref.node) === i) nb.byNode.delete(ref.node);
        }
      }
      const qualifying = k.qualifyingUntil > now;
      if (now - k.lastVerified >= T || nb.links.size === 0 || (!qualifying && !nbLqOk(s, nb)))
        dropNeighbor(s, k);
    }
  }
  for (const k of s.heard) if (k.qualifyingUntil <= now && !k.nb) s.heard.delete(k);
  const rerequest = now - s.lastRerequest >= s.cfg.maintainanceInterval;
  if (rerequest) s.lastRerequest = now;
  for (const k of [...s.keys.values()]) {
    const qualifying = k.qualifyingUntil > now;
    // a referenced key left Listed for want of room tries again (keyNodes_triggerNonTracktedNodesBecomingTracked)
    if (k.state === KEY_STATE.LISTED && (qualifying || k.iidRefCount > 0)) track(s, k);
    if (k.state === KEY_STATE.PROMOTED && !qualifying && k.iidRefCount === 0) dropOrig(s, k);
    // friends and recommended nodes stay tracked without references (key.c keyNode_anyRef)
    const kept = valued(s, k.hex);
    if (
      (k.state === KEY_STATE.TRACKED || k.state === KEY_STATE.CERTIFIED) &&
      !qualifying &&
      k.iidRefCount === 0 &&
      !kept
    ) {
      if (now - k.trackedSince >= TRACKED_PROMOTION_MS) demoteToListed(s, k);
    }
    if (
      k.state === KEY_STATE.LISTED &&
      !qualifying &&
      k.iidRefCount === 0 &&
      !kept &&
      now - k.lastRef >= s.cfg.idTimeout
    ) {
      forgetKey(s, k);
    }
    // promote resolved pending descriptions whose promotion condition now holds
    if (k.pending && k.state >= KEY_STATE.CERTIFIED) tryResolve(s, k);
    // re-resolve what is still missing every maintainanceInterval (§4.12)
    if (rerequest && k.state >= KEY_STATE.TRACKED) {
      if (!k.pubkey) requestPubkey(s, k);
      else if (k.pending && !k.pending.facts)
        for (const h of k.pending.missing) wantContent(s, unhex(h), k.hex);
    }
  }
  for (const [h, c] of s.content) {
    if (c.uses <= 0 && now - c.since >= s.cfg.idTimeout) s.content.delete(h);
  }
  fixLimits(s, now);
}
