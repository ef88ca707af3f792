import { readFileSync } from 'node:fs';
import { fixture } from '@bmx7/testenv/env';
import { describe, expect, it } from 'vitest';
import {
  type Cell,
  formatUmetric,
  formatUptime,
  type Row,
  renderParameters,
  renderTable,
  type TableDef,
  tableToJson,
  visibleColumns,
} from './table.js';
import { ORIGINATORS_TABLE, REFERENCE_TABLES, STATUS_TABLE } from './tables.js';

interface Section {
  table: string;
  relevance: 0 | 2;
  title?: string;
  header?: string;
  rows: string[];
  text: string;
}

/** The sections of show-tables.txt: `######## show=<table> (default relevance)` or `... /r=0`. */
function sections(): Section[] {
  const text = readFileSync(fixture('show-tables.txt'), 'utf8');
  const out: Section[] = [];
  let cur: Section | undefined;
  for (const line of text.split('\n')) {
    const m = /^######## show=(\w+) (\(default relevance\)|\/r=0)$/.exec(line);
    if (m !== null) {
      cur = { table: m[1] as string, relevance: m[2] === '/r=0' ? 0 : 2, rows: [], text: '' };
      out.push(cur);
      continue;
    }
    if (cur === undefined || line === '') continue;
    cur.text += `${line}\n`;
    if (cur.title === undefined) cur.title = line;
    else if (cur.header === undefined) cur.header = line;
    else cur.rows.push(line);
  }
  return out;
}

/** Column names and start offsets of a header line. */
function headerColumns(header: string): { name: string; start: number }[] {
  const cols: { name: string; start: number }[] = [];
  for (const m of header.matchAll(/\S+/g)) cols.push({ name: m[0], start: m.index });
  return cols;
}

/** Cells of a printed row, cut at the header's column starts; `---` back to a missing value. */
function parseRow(header: string, line: string): Row {
  const cols = headerColumns(header);
  const row: Record<string, Cell> = {};
  cols.forEach((c, j) => {
    const end = j + 1 < cols.length ? (cols[j + 1] as { start: number }).start - 1 : line.length;
    const v = line.slice(c.start, end).trimEnd();
    row[c.name] = v === '---' ? null : v;
  });
  return row;
}

const all = sections();
// contents, credits and cpu are excerpts in the fixture (rows left out), so their widths cannot be rebuilt.
const GOLDEN = ['status', 'interfaces', 'links', 'originators', 'keys', 'references', 'tunnels'];

describe('renderTable against the reference (show-tables.txt)', () => {
  it('has the sections the tests expect', () => {
    for (const t of GOLDEN)
      expect(
        all.some((s) => s.table === t && s.relevance === 2 && s.rows.length > 0),
        t,
      ).toBe(true);
  });

  it.each(GOLDEN)('%s (default view) renders byte for byte', (name) => {
    const s = all.find((x) => x.table === name && x.relevance === 2) as Section;
    const def = REFERENCE_TABLES.get(name) as TableDef;
    const rows = s.rows.map((r) => parseRow(s.header as string, r));
    expect(renderTable(def, rows)).toBe(s.text);
  });

  it.each([
    'status',
    'interfaces',
    'links',
    'originators',
    'keys',
    'references',
    'credits',
    'tunnels',
    'contents',
  ])("%s: the default and /r=0 column sets are the reference's", (name) => {
    const def = REFERENCE_TABLES.get(name) as TableDef;
    for (const rel of [2, 0] as const) {
      const s = all.find((x) => x.table === name && x.relevance === rel) as Section;
      expect(s.title).toBe(`${def.title}:`);
      expect(headerColumns(s.header as string).map((c) => c.name)).toEqual(
        visibleColumns(def, rel).map((c) => c.name),
      );
    }
  });

  it('prints nothing for an empty table, as the reference did for trusted', () => {
    expect(all.filter((s) => s.table === 'trusted').every((s) => s.text === '')).toBe(true);
    expect(renderTable(REFERENCE_TABLES.get('trusted') as TableDef, [])).toBe('');
  });

  it('formats numbers as the reference: umetric, missing values, the trailing-space rule', () => {
    const row: Row = {
      shortId: '0C476241',
      name: 'ref-n1',
      as: 'nQ',
      S: 'A',
      s: 'A',
      T: 'A',
      t: 'A',
      descSqn: 812,
      lastDesc: 73,
      descSize: '699+757',
      cv: 21,
      revision: '0000000',
      primaryIp: 'fd70:c47:6241:3b5f:b8f2:2e3d:37b0:6be',
      metric: 257698037760,
      hops: 0,
      ogmSqn: 13,
      lastRef: 0,
    };
    const text = renderTable(ORIGINATORS_TABLE, [row, { ...row, metric: 999_000_000, dev: 'rv12a' }]);
    const lines = text.split('\n');
    expect(lines[0]).toBe('ORIGINATORS:');
    expect(lines[2]).toContain(' 257G   0    13     0       ');
    expect(lines[2]?.endsWith(' ')).toBe(true); // nbs, the last column, is hidden at relevance 2
    expect(lines[3]).toContain('rv12a ---       ---    999M');
    const full = renderTable(ORIGINATORS_TABLE, [row], { relevance: 0 });
    expect(full.split('\n')[2]?.endsWith('---')).toBe(true); // nbs shown: no space after it
    expect(full.split('\n')[1]?.endsWith('nbs ')).toBe(true); // headers always end with a space
  });

  it('never lets a cell break the layout', () => {
    const text = renderTable(STATUS_TABLE, [{ name: 'evil\nname\x1b[2J' }]);
    expect(text.split('\n')).toHaveLength(4);
    expect(text).not.toContain('\x1b');
  });
});

describe('formats', () => {
  it.each([
    [0, '-1'],
    [64, '-1'],
    [65, '0'],
    [66, '66'],
    [99_999, '99999'],
    [100_000, '100K'],
    [92_274_688, '92274K'],
    [99_999_999, '99999K'],
    [100_000_000, '100M'],
    [706_000_000, '706M'],
    [99_999_999_999, '99999M'],
    [100_000_000_000, '100G'],
    [257_698_037_760, '257G'],
  ])('umetric %d → %s', (v, s) => expect(formatUmetric(v)).toBe(s));

  it.each([
    [0, '0:00:00:00'],
    [26, '0:00:00:26'],
    [74, '0:00:01:14'],
    [86399, '0:23:59:59'],
    [90061, '1:01:01:01'],
    [-5, '0:00:00:00'],
  ])('uptime %d → %s', (v, s) => expect(formatUptime(v)).toBe(s));

  it('json rows are keyed by column name and keep raw values', () => {
    const rows = tableToJson(ORIGINATORS_TABLE, [
      { shortId: 'AB', metric: 257698037760, hops: 0, dev: null },
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ shortId: 'AB', metric: 257698037760, hops: 0, dev: null, name: null });
    expect(Object.keys(rows[0] ?? {})).toEqual(visibleColumns(ORIGINATORS_TABLE).map((c) => c.name));
    expect(JSON.stringify(rows)).not.toContain('nodeId');
    expect(Object.keys(tableToJson(ORIGINATORS_TABLE, [{}], 0)[0] ?? {})).toContain('nodeId');
  });

  it('parameters as the reference prints them', () => {
    expect(
      renderParameters([
        { name: 'txAvgInterval', value: '900', default: 800 },
        { name: 'dev', value: 'eth1', children: [{ name: 'channel', value: '6', default: 255 }] },
      ]),
    ).toBe(
      'PARAMETERS:\n' +
        ' txAvgInterval          900                  (800) \n' +
        ' dev                    eth1                 () \n' +
        '    /channel            6                    (255) \n',
    );
  });
});
