/**
 * Show tables (docs/protocol.md §5): status, interfaces, links, originators, credits, keys, and the
 * node view that plugins and tables share.
 */

import { decodeDescription, ip6ToString } from '@bmx7/codec';
import { shortId } from '@bmx7/crypto';
import { countSections, rowOf } from './admission.js';
import {
  COLUMN_LETTERS,
  CREDIT_COLUMNS,
  CREDIT_ROWS,
  CREDIT_SETS,
  ROW_LETTERS,
  setCount,
} from './credits.js';
import { timeAwareRq, timeAwareTq } from './links.js';
import { UMETRIC_NOT_ROUTABLE } from './metrics.js';
import type { NodeView, ShowRows } from './plugin.js';
import { pluginTable } from './plugin-host.js';
import { type EngineState, type KeyRec, STATE_NAMES } from './state.js';
import { supportLevel, trustLookup, trustOn, trustText } from './trust.js';

/** A description's size as the reference shows it: root bytes + referenced (virtual) bytes. */
export function descSizeText(bytes: Uint8Array, decoded?: { version: { virtLength: number } }): string {
  const d =
    decoded ??
    (() => {
      const r = decodeDescription(bytes);
      return r.ok ? r.value : undefined;
    })();
  return d ? `${bytes.length}+${d.version.virtLength}` : `${bytes.length}`;
}

/** A node as plugins and tables see it. */
export function view(k: KeyRec): NodeView {
  const o = k.orig;
  const facts = k.current?.facts;
  const primary = facts?.hna[0] ? ip6ToString(facts.hna[0].address) : '';
  const v: NodeView = {
    id: k.hex,
    shortId: shortId(k.id),
    name: facts?.name ?? '',
    descSqn: k.current?.parsed.descSqn ?? 0,
    compatibility: k.current?.parsed.compatibility ?? 0,
    primaryIp: primary,
    metric: o && o.um > UMETRIC_NOT_ROUTABLE && o.link ? Number(o.um) : 0,
    hops: o?.hops ?? 0,
  };
  if (o?.link && o.um > UMETRIC_NOT_ROUTABLE) v.via = { dev: o.link.ifname, address: o.link.addr };
  return v;
}

export function nodes(s: EngineState): NodeView[] {
  return [...s.keys.values()].filter((k) => k.orig).map((k) => view(k));
}

/** The reference's `as` acronym: key column (l t c p n) and row (Q F R A), 4.11. */
export function assessedState(s: EngineState, k: KeyRec, now: number): string {
  return `${COLUMN_LETTERS[k.state]}${ROW_LETTERS[rowOf(s, k, now)]}`;
}

/**
 * The credits table (§4.11) as the reference prints it: per row, for each column
 * `acro=keys in the section/keys in the set/set limit` and the set's preference. The node itself
 * counts as nQ.
 */
export function creditRows(s: EngineState, now: number): ShowRows {
  const sec = countSections(s, now);
  const m = s.credits;
  return CREDIT_SETS.map((set, r) => {
    const row: Record<string, string | number> = { set, row: CREDIT_ROWS[r]! };
    CREDIT_COLUMNS.forEach((col, c) => {
      const acro = `${COLUMN_LETTERS[c]}${ROW_LETTERS[r]}`;
      row[col] = `${acro}=${sec[r]![c]}/${setCount(sec, r, c)}/${m.max[r]![c]}`;
      row[`${COLUMN_LETTERS[c]}Pref`] = m.pref[r]![c]!;
    });
    return row;
  });
}

/** The S column: 'A' without trust configuration, my support level when ≥ 2, 1 when a level-3 friend supports it at ≥ 2. */
export function supportText(s: EngineState, h: string): string {
  if (!trustOn(s)) return 'A';
  const own = supportLevel(s, h);
  if (own >= 2) return String(own);
  for (const level of s.recommended.get(h)?.values() ?? []) if (level >= 2) return '1';
  return '0';
}

export function show(s: EngineState, table: string): ShowRows {
  const now = s.c.clock.now();
  switch (table) {
    case 'status':
      return [
        {
          shortId: shortId(s.id),
          name: s.cfg.hostname,
          nodeKey: `RSA${(s.key.publicContent.length - 1) * 8}`,
          cv: s.cfg.compatibility,
          primaryIp: s.primaryText,
          descSqn: s.descSqn,
          ogmSqn: s.ogmSqn,
          lastDesc: s.desc ? Math.floor((now - s.desc.builtAt) / 1000) : '---',
          descSize: s.desc ? descSizeText(s.desc.bytes) : '---',
          uptime: Math.floor((now - s.startedAt) / 1000),
          txQ: `${Math.floor(s.bucket.coins)}/${s.cfg.txBucketSize}`,
          nbs: [...s.keys.values()].filter((k) => k.nb).length,
          rts: s.routes.size,
          nodes: nodes(s).length + 1,
          // the own levels: 2 with trust configured (the node trusts and supports itself)
          selfLevels: trustOn(s) ? '2' : 'A',
        },
      ];
    case 'interfaces':
      return [...s.ifs.values()].map((i) => ({
        dev: i.info.name,
        state: 'UP',
        idx: i.devIdx,
        localIp: i.info.linkLocal,
        helloSqn: i.helloSqn,
        txTasks: s.tx.queued(i.info.name),
      }));
    case 'links':
      return [...s.links.values()].map((l) => ({
        shortId: shortId(l.nb.key.id),
        name: l.nb.key.current?.facts?.name ?? '',
        nbLocalIp: l.addr,
        dev: l.ifname,
        nbIdx: l.devIdx,
        rq: timeAwareRq(l.q, now, s.cfg.linkTimeout),
        tq: timeAwareTq(l.q, now, s.cfg.linkTimeout),
        linkKey: l.nb.key.dhmSecret ? 'DHM' : 'RSA',
        lastHelloSqn: l.window.last >= 0 ? l.window.last : '---',
      }));
    case 'originators':
      return [...s.keys.values()]
        .filter((k) => k.orig)
        .map((k) => {
          const n = view(k);
          const d = k.current;
          return {
            shortId: n.shortId,
            nodeId: k.hex.toUpperCase(),
            name: n.name,
            as: assessedState(s, k, now),
            // S, T: what I grant it; s, t: what its SUPPORTS and TRUSTS grant me (§4.11, §5.3)
            S: supportText(s, k.hex),
            s: trustText(trustLookup(s, d?.facts?.supports, s.hex, 'supports')),
            T: trustOn(s) ? trustText(trustLookup(s, s.ownTrusts, k.hex, 'trusts')) : 'A',
            t: trustText(trustLookup(s, d?.facts?.trusts, s.hex, 'trusts')),
            myIid: k.orig?.iid ?? '---',
            descSqn: n.descSqn,
            cv: n.compatibility,
            lastDesc: d?.receivedAt !== undefined ? Math.floor((now - d.receivedAt) / 1000) : '---',
            descSize: d ? descSizeText(d.parsed.bytes, d.parsed.decoded) : '---',
            primaryIp: n.primaryIp,
            dev: n.via?.dev ?? '---',
            nbLocalIp: n.via?.address ?? '---',
            metric: n.metric,
            hops: n.hops,
            ogmSqn: k.orig?.sqn ?? '---',
            lastRef: Math.floor((now - k.lastRef) / 1000),
          };
        });
    case 'credits':
      return creditRows(s, now);
    case 'trusted':
      // the own trust list, this node included, in ascending id order (sec.c trust_status_creator)
      return [...s.trusted]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([id, e]) => ({
          shortId: id.slice(0, 8).toUpperCase(),
          nodeId: id.toUpperCase(),
          name: id === s.hex ? s.cfg.hostname : (s.keys.get(id)?.current?.facts?.name ?? '---'),
          trust: e.trust,
          support: e.support,
          fileName: e.fileName,
        }));
    case 'keys':
      return [...s.keys.values()].map((k) => ({
        shortId: shortId(k.id),
        nodeId: k.hex,
        state: STATE_NAMES[k.state],
        as: assessedState(s, k, now),
        descSqn: k.current?.parsed.descSqn ?? 0,
        pendingSqn: k.pending?.parsed.descSqn ?? 0,
        unresolveds: k.pending?.missing.size ?? 0,
        pendingResolved: k.pending?.facts ? 1 : 0,
      }));
    default:
      return pluginTable(s, table) ?? [];
  }
}
