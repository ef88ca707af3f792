/**
 * The status page: one HTML document with its style and script inline, nothing built or fetched
 * from elsewhere. The script reads `/api/status` (snapshot.ts) once a second and redraws the
 * originators, links, tunnels, WireGuard peers and traffic tables and a drawing of the mesh as this
 * node sees it: itself in the middle, its neighbours around it on their links, every other
 * originator on the ring of its hop count, joined to the neighbour it is routed through.
 *
 * Strings from the mesh (host names come from other nodes) only ever reach the page as text nodes
 * (`textContent`) or plain attribute values, never as markup. The Content-Security-Policy allows
 * exactly this script and this style (by hash) and requests to the page's own origin.
 */
import { createHash } from 'node:crypto';

const STYLE = `
:root { color-scheme: light dark; --fg: #1d2329; --muted: #5d6873; --bg: #f6f7f9; --card: #fff;
  --line: #d5dae0; --accent: #1f6feb; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #8d96a0; --bg: #0d1117;
  --card: #161b22; --line: #30363d; --accent: #4493f8; --ok: #3fb950; --warn: #d29922; --bad: #f85149; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: baseline; padding: .8rem 1.2rem;
  background: var(--card); border-bottom: 1px solid var(--line); }
header h1 { margin: 0; font-size: 1.25rem; }
header .facts { color: var(--muted); }
#live { margin-left: auto; color: var(--muted); }
#live.stale { color: var(--bad); font-weight: 600; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(30rem, 1fr)); gap: 1rem; padding: 1rem; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem;
  overflow-x: auto; }
section h2 { margin: 0 0 .4rem; font-size: 1rem; }
section h2 .count { color: var(--muted); font-weight: normal; }
#topology, section.wide { grid-column: 1 / -1; }
svg { width: 100%; height: auto; max-height: 32rem; display: block; }
svg .link { stroke: var(--accent); stroke-width: 2; }
svg .route { stroke: var(--muted); stroke-width: 1.2; stroke-dasharray: 5 4; fill: none; }
svg .ring { stroke: var(--line); fill: none; }
svg circle.node { fill: var(--card); stroke: var(--accent); stroke-width: 2; }
svg circle.self { fill: var(--accent); }
svg circle.far { stroke: var(--muted); }
svg text { fill: var(--fg); font-size: 12px; }
svg text.name, svg text.sub { text-anchor: middle; }
svg text.sub, svg text.lq { fill: var(--muted); font-size: 10px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .2rem .5rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.empty { color: var(--muted); font-style: italic; }
.badge { display: inline-block; padding: 0 .4rem; border-radius: 3px; font-size: 12px; font-weight: 600; }
.badge.encrypted { background: var(--ok); color: #fff; }
.badge.plain { background: var(--warn); color: #fff; }
.badge.pq { background: var(--accent); color: #fff; }
.badge.static { background: var(--muted); color: #fff; }
.badge.none { border: 1px solid var(--line); color: var(--muted); }
`;

// The client script. Only DOM calls that take text: createElement(NS), textContent, setAttribute on
// fixed attribute names; never innerHTML or anything that parses markup.
const SCRIPT = `
'use strict';
const SVG = 'http://www.w3.org/2000/svg';
const POLL_MS = 1000;
const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = String(text);
  return e;
}
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const k of Object.keys(attrs)) e.setAttribute(k, String(attrs[k]));
  if (text !== undefined) e.textContent = String(text);
  return e;
}
function badge(kind) { return el('span', 'badge ' + kind, kind); }
function bytes(n) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : String(n)) + ' ' + u[i];
}
function bps(n) {
  if (!n) return '—';
  const u = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return n.toFixed(i ? 1 : 0) + ' ' + u[i];
}
function age(s) {
  if (s === null || s === undefined) return '—';
  if (s < 120) return s + ' s';
  if (s < 7200) return Math.floor(s / 60) + ' min';
  return Math.floor(s / 3600) + ' h';
}
function pct(r) { return Math.round(r * 100) + ' %'; }

// A table body from rows of cells; a cell is a value (text), or a Node (a badge)
function fill(id, rows, columns, empty) {
  const table = $(id);
  const count = table.closest('section').querySelector('.count');
  if (count) count.textContent = '(' + rows.length + ')';
  const body = table.tBodies[0];
  const next = document.createElement('tbody');
  if (rows.length === 0) {
    const tr = el('tr');
    const td = el('td', 'empty', empty);
    td.colSpan = columns;
    tr.append(td);
    next.append(tr);
  }
  for (const r of rows) {
    const tr = el('tr');
    if (r.id !== undefined) tr.dataset.id = r.id;
    for (const c of r.cells) {
      const td = el('td', c.cls || '');
      if (c.node) td.append(c.node); else td.textContent = c.text === undefined || c.text === null ? '—' : String(c.text);
      tr.append(td);
    }
    next.append(tr);
  }
  table.replaceChild(next, body);
}

function drawTopology(s) {
  const W = 720, H = 440, cx = W / 2, cy = H / 2;
  const root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', id: 'mesh' });
  root.append(svg('title', {}, 'The mesh as ' + s.node.name + ' sees it'));
  // nodes: this one, its neighbours (from links, and hop-1 originators), the other originators
  const nodes = new Map();
  nodes.set(s.node.shortId, { id: s.node.shortId, name: s.node.name, hops: 0, self: true });
  for (const l of s.links) if (!nodes.has(l.shortId)) nodes.set(l.shortId, { id: l.shortId, name: l.name, hops: 1 });
  for (const o of s.originators) {
    const n = nodes.get(o.shortId);
    const hops = o.via ? Math.max(1, o.hops) : 0;
    if (n) { n.name = o.name || n.name; n.originator = o; continue; }
    nodes.set(o.shortId, { id: o.shortId, name: o.name, hops: hops || 99, parent: o.via ? o.via.shortId : null, originator: o });
  }
  const byHops = new Map();
  for (const n of nodes.values()) {
    if (n.self) continue;
    const h = n.hops;
    if (!byHops.has(h)) byHops.set(h, []);
    byHops.get(h).push(n);
  }
  const levels = [...byHops.keys()].sort((a, b) => a - b);
  const ringGap = Math.min(cx, cy) / (levels.length + 0.6);
  const pos = new Map();
  pos.set(s.node.shortId, { x: cx, y: cy, a: 0 });
  levels.forEach((h, i) => {
    const ring = levels[i] === 99 ? levels.length : i + 1;
    const r = ringGap * ring;
    root.append(svg('ellipse', { class: 'ring', cx: cx, cy: cy, rx: r * 1.35, ry: r }));
    const list = byHops.get(h);
    // near the neighbour they are routed through, in a stable order
    const want = (n) => (n.parent && pos.has(n.parent) ? pos.get(n.parent).a : null);
    list.sort((a, b) => {
      const wa = want(a), wb = want(b);
      if (wa !== null && wb !== null && wa !== wb) return wa - wb;
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    });
    list.forEach((n, k) => {
      const a = ((k + 0.5) / list.length) * 2 * Math.PI - Math.PI / 2 + (i % 2) * (Math.PI / list.length / 2);
      pos.set(n.id, { x: cx + r * Math.cos(a) * 1.35, y: cy + r * Math.sin(a), a: a });
    });
  });
  const edges = svg('g', { class: 'edges' });
  // links of this node, with their receive and transmit quality
  const linked = new Set();
  for (const l of s.links) {
    const p = pos.get(l.shortId);
    if (!p || linked.has(l.shortId)) continue;
    linked.add(l.shortId);
    edges.append(svg('line', { class: 'link', x1: cx, y1: cy, x2: p.x, y2: p.y, 'data-id': l.shortId }));
    // beside the line's middle, on its side
    const dx = p.x - cx, dy = p.y - cy, len = Math.hypot(dx, dy) || 1;
    const nx = -dy / len, ny = dx / len, side = ny > 0 ? -1 : 1;
    const anchor = nx * side > 0.3 ? 'start' : nx * side < -0.3 ? 'end' : 'middle';
    edges.append(svg('text', { class: 'lq', x: cx + dx / 2 + nx * side * 8, y: cy + dy / 2 + ny * side * 8 - 2,
      'text-anchor': anchor }, 'rq ' + pct(l.rq) + ' · tq ' + pct(l.tq)));
  }
  // other originators: a dashed line from the neighbour they are routed through
  for (const n of nodes.values()) {
    if (n.self || !n.parent || n.hops <= 1) continue;
    const a = pos.get(n.parent), b = pos.get(n.id);
    if (!a || !b) continue;
    edges.append(svg('line', { class: 'route', x1: a.x, y1: a.y, x2: b.x, y2: b.y, 'data-id': n.id }));
  }
  root.append(edges);
  for (const n of nodes.values()) {
    const p = pos.get(n.id);
    if (!p) continue;
    const g = svg('g', { class: 'node', 'data-id': n.id, transform: 'translate(' + p.x.toFixed(1) + ' ' + p.y.toFixed(1) + ')' });
    const o = n.originator;
    g.append(svg('title', {}, n.name + ' ' + n.id + (o ? ' · ' + o.primaryIp + ' · ' + (n.hops === 99 ? 'not routed' : n.hops + ' hop(s)') : '')));
    g.append(svg('circle', { class: 'node' + (n.self ? ' self' : n.hops > 1 ? ' far' : ''), r: n.self ? 14 : 10 }));
    g.append(svg('text', { class: 'name', y: -16 }, n.name || n.id));
    g.append(svg('text', { class: 'sub', y: 24 }, n.id));
    root.append(g);
  }
  $('mesh').replaceWith(root);
  $('topology').querySelector('.count').textContent = '(' + nodes.size + ' nodes)';
}

function render(s) {
  document.title = s.node.name + ' · bmx7d';
  $('name').textContent = s.node.name;
  $('facts').textContent = s.node.shortId + ' · ' + s.node.primaryIp + ' · bmx7d ' + s.node.version +
    ' (' + s.node.revision + ') · up ' + age(s.node.uptimeSeconds) + ' · ' + s.routes + ' routes · ' +
    s.descriptions + ' descriptions';
  drawTopology(s);
  fill('originators', s.originators.map((o) => ({ id: o.shortId, cells: [
    { text: o.name, cls: 'name' }, { text: o.shortId }, { text: o.primaryIp },
    { text: o.via ? o.via.name + ' (' + o.via.dev + ')' : 'not routed' },
    { text: bps(o.metric), cls: 'num' }, { text: o.hops, cls: 'num' }, { text: o.descSqn, cls: 'num' },
    { text: age(o.lastRefSeconds), cls: 'num' } ] })), 8, 'no other node known yet');
  fill('links', s.links.map((l) => ({ id: l.shortId, cells: [
    { text: l.name, cls: 'name' }, { text: l.shortId }, { text: l.dev }, { text: l.address },
    { text: pct(l.rq), cls: 'num' }, { text: pct(l.tq), cls: 'num' } ] })), 6, 'no links');
  fill('tunnels', s.tunnels.map((t) => ({ id: t.search, cells: [
    { text: t.search, cls: 'name' }, { text: t.network }, { text: t.gateway + ' ' + t.gatewayId }, { text: t.dev },
    { node: badge(t.crypt) }, { node: badge(t.psk) },
    { text: t.wg && t.wg.pqEpoch !== null ? t.wg.pqEpoch : null, cls: 'num' },
    { text: t.wg ? age(t.wg.handshakeAgeSeconds) : null, cls: 'num' },
    { text: t.wg ? bytes(t.wg.rxBytes) : null, cls: 'num' }, { text: t.wg ? bytes(t.wg.txBytes) : null, cls: 'num' } ] })),
    10, 'no gateway tunnels in use');
  fill('wg', s.wgPeers.map((p) => ({ id: p.shortId, cells: [
    { text: p.dev }, { text: p.name, cls: 'name' }, { text: p.shortId }, { node: badge(p.psk) },
    { text: p.pqEpoch, cls: 'num' }, { text: age(p.pskAgeSeconds), cls: 'num' },
    { text: age(p.handshakeAgeSeconds), cls: 'num' },
    { text: bytes(p.rxBytes), cls: 'num' }, { text: bytes(p.txBytes), cls: 'num' } ] })), 9, 'no WireGuard peers');
  fill('traffic', s.traffic.frames.map((f) => ({ id: f.type, cells: [
    { text: f.type }, { text: f.rxFrames, cls: 'num' }, { text: bytes(f.rxBytes), cls: 'num' },
    { text: f.txFrames, cls: 'num' }, { text: bytes(f.txBytes), cls: 'num' } ] })), 5, 'nothing sent or received yet');
  fill('drops', Object.keys(s.traffic.drops).filter((r) => s.traffic.drops[r] > 0).map((r) => ({ id: r, cells: [
    { text: r }, { text: s.traffic.drops[r], cls: 'num' } ] })), 2, 'no packet dropped');
}

let failures = 0;
async function poll() {
  try {
    const r = await fetch('api/status', { cache: 'no-store', headers: { accept: 'application/json' } });
    if (!r.ok) throw new Error('HTTP ' + r.status);
    render(await r.json());
    failures = 0;
    $('live').className = '';
    $('live').textContent = 'live · ' + new Date().toLocaleTimeString();
  } catch (e) {
    failures++;
    $('live').className = 'stale';
    $('live').textContent = 'no answer from bmx7d (' + (e && e.message ? e.message : e) + '), retrying';
  } finally {
    setTimeout(poll, failures ? Math.min(10000, POLL_MS * 2 ** failures) : POLL_MS);
  }
}
poll();
`;

const hash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** The page's Content-Security-Policy: its own script and style, requests to its own origin only. */
export const PAGE_CSP = [
  "default-src 'none'",
  `script-src ${hash(SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const head = (title: string, id: string, cols: string[], wide = false) =>
  `<section${wide ? ' class="wide"' : ''}><h2>${title} <span class="count"></span></h2><table id="${id}"><thead><tr>${cols
    .map((c) => `<th>${c}</th>`)
    .join('')}</tr></thead><tbody></tbody></table></section>`;

/** The status page (the same bytes every time). */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>bmx7d</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1 id="name">bmx7d</h1><span class="facts" id="facts">connecting…</span><span id="live">connecting…</span></header>
<main>
<section id="topology"><h2>Mesh <span class="count"></span></h2><svg id="mesh" viewBox="0 0 720 440"></svg></section>
${head('Originators', 'originators', ['name', 'id', 'primary address', 'via', 'metric', 'hops', 'descSqn', 'last heard'], true)}
${head('Links', 'links', ['neighbour', 'id', 'dev', 'address', 'rq', 'tq'])}
${head('Gateway tunnels', 'tunnels', ['search', 'network', 'gateway', 'dev', 'crypt', 'PSK', 'PQ epoch', 'handshake', 'rx', 'tx'], true)}
${head('WireGuard peers', 'wg', ['dev', 'peer', 'id', 'PSK', 'PQ epoch', 'PSK age', 'handshake', 'rx', 'tx'])}
${head('BMX7 traffic', 'traffic', ['frame type', 'frames in', 'bytes in', 'frames out', 'bytes out'])}
${head('Dropped packets', 'drops', ['reason', 'packets'])}
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;

/** The script alone (tests compile it to catch a syntax error early). */
export const STATUS_PAGE_SCRIPT = SCRIPT;
