/**
 * bmx7d(8) against the daemon itself: the page renders without groff warnings, lists exactly the
 * options and children `bmx7d --help /r=0` lists, with the same short aliases, defaults and
 * ranges; its config example is a valid config; its "runtime only" flags are those the daemon
 * refuses at start; its tables are those an engine with the built-in plugins answers; its exit
 * statuses are those main.ts returns.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '@bmx7/core';
import { createMemoryBackend } from '@bmx7/plugin-tun';
import {
  createMemoryFiles,
  createMemoryLogger,
  createMemoryRoutes,
  createMemoryStorage,
  createSeededRandom,
  createVirtualClock,
  testRsaKey,
} from '@bmx7/testkit';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  BMX7D_EXIT_STATUS,
  BMX7D_NOTES,
  bmx7dManPage,
  CATEGORY_INTRO,
  CONFIG_EXAMPLE,
  daemonTableNames,
  PLUGIN_SUMMARY,
  whenText,
} from './manpage.js';
import { daemonOptionTable, parseStartArgs, START_OPTIONS, settingsOf } from './options.js';
import { BUILTIN_PLUGINS, checkPluginSettings, type DaemonPluginInstance } from './plugins.js';
import { daemonArgv, MAIN } from './test/helpers.js';

const PAGE = bmx7dManPage({ version: '9.8.7', date: '2026-01-02' });
const TABLE = daemonOptionTable(BUILTIN_PLUGINS);

/** An option or child as a listing shows it. */
interface Listed {
  name: string;
  short?: string;
  default?: string;
  range?: string;
  children: Listed[];
}

/** groff's warnings at the strictest level (what lintian asks man for). */
function groffWarnings(page: string): string {
  const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z'], { input: page, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`groff failed: ${r.error ?? r.stderr}`);
  return r.stderr;
}

/** The page as man(1) prints it (man-db and groff-base: infra/setup.sh), wide enough not to wrap facts. */
function renderMan(file: string): string {
  const r = spawnSync('man', ['-l', file], {
    encoding: 'utf8',
    env: { ...process.env, MANWIDTH: '200', MANPAGER: 'cat', PAGER: 'cat', LC_ALL: 'C.UTF-8' },
  });
  if (r.status !== 0) throw new Error(`man failed: ${r.error ?? r.stderr}`);
  expect(r.stderr).toBe('');
  return r.stdout;
}

/** `bmx7d ARGS` run from the sources, as the daemon's own process. */
function bmx7d(args: string[]): string {
  const r = spawnSync(process.execPath, daemonArgv(args), {
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

const DEF_RE = /def: (?!range:)(\S+)/;
const RANGE_RE = /range: \[ (-?\d+) (?:\.\.\.|,) (-?\d+) \]/;

/** The options of `bmx7d --help`: `--name, -x <form>   def: D  range: [ a ... b ]`, children `  /c, /x …`. */
function parseHelp(text: string): Listed[] {
  const out: Listed[] = [];
  for (const line of text.split('\n')) {
    const opt = /^--([A-Za-z][A-Za-z0-9]*)(?:, -(\S))?(?: |$)/.exec(line);
    const child = /^ {2}\/([A-Za-z][A-Za-z0-9]*)(?:, \/(\S))?(?: |$)/.exec(line);
    const m = opt ?? child;
    if (m === null) continue;
    const d = DEF_RE.exec(line);
    const r = RANGE_RE.exec(line);
    const entry: Listed = {
      name: m[1] as string,
      ...(m[2] === undefined ? {} : { short: m[2] }),
      ...(d === null ? {} : { default: d[1] }),
      ...(r === null ? {} : { range: `${r[1]}..${r[2]}` }),
      children: [],
    };
    if (opt) out.push(entry);
    else {
      const parent = out.at(-1);
      if (parent === undefined) throw new Error(`child before any option: ${line}`);
      parent.children.push(entry);
    }
  }
  return out;
}

/** The tag of a `.TP` entry: `name=VAL, -x VAL`, `/child=VAL, /c VAL`, or a bare name. */
const TAG_RE = /^(\/?[A-Za-z][A-Za-z0-9]*)(?:=[^ ,]+)?(?:, [-/](\S)(?: [^ ,]+)?)?$/;

/**
 * The options of the rendered page's OPTIONS section: tags at column 7 (children at 14), the tag
 * alone on its line or, when shorter than the indent, followed by its text at column 14 (21).
 */
function parseManOptions(rendered: string): Listed[] {
  const lines = rendered.split('\n');
  const start = lines.indexOf('OPTIONS');
  const end = lines.findIndex((l, i) => i > start && /^[A-Z][A-Z ]+$/.test(l));
  expect(start).toBeGreaterThan(0);
  const out: Listed[] = [];
  let current: Listed | undefined;
  const tagAt = (line: string, col: number): { tag: string; rest: string } | undefined => {
    if (line.length <= col || line[col] === ' ' || line.slice(0, col).trim() !== '') return undefined;
    const whole = line.slice(col);
    if (TAG_RE.test(whole)) return { tag: whole, rest: '' };
    const short = line.slice(col, col + 7);
    if (line[col + 6] === ' ' && line.length > col + 7 && line[col + 7] !== ' ' && TAG_RE.test(short.trim()))
      return { tag: short.trim(), rest: line.slice(col + 7) };
    return undefined;
  };
  let inOptions = false;
  for (const line of lines.slice(start + 1, end)) {
    if (/^ {3}\S/.test(line)) {
      inOptions = true; // a module's heading (.SS)
      current = undefined;
      continue;
    }
    if (!inOptions) continue;
    const top = tagAt(line, 7);
    const under = top === undefined && current !== undefined ? tagAt(line, 14) : undefined;
    const child = under?.tag.startsWith('/') ? under : undefined;
    const hit = top ?? child;
    if (hit !== undefined) {
      const m = TAG_RE.exec(hit.tag) as RegExpExecArray;
      const name = (m[1] as string).replace(/^\//, '');
      const entry: Listed = { name, ...(m[2] === undefined ? {} : { short: m[2] }), children: [] };
      if (top !== undefined) {
        out.push(entry);
        current = entry;
      } else current?.children.push(entry);
      continue;
    }
    const target = /^ {21}\S/.test(line)
      ? current?.children.at(-1)
      : /^ {14}\S/.test(line)
        ? current
        : undefined;
    if (target === undefined) continue;
    const def = /^\s+Default: (.*)$/.exec(line);
    if (def) target.default = def[1] as string;
    const range = /^\s+Value: integer (-?\d+)\.\.(-?\d+)$/.exec(line);
    if (range) target.range = `${range[1]}..${range[2]}`;
  }
  return out;
}

/** The page in a temporary file (man -l reads files), removed after the test. */
function writePage(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bmx7d-man-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bmx7d.8');
  writeFileSync(file, PAGE);
  return file;
}

describe('bmx7d(8)', () => {
  it('is a man(7) page groff renders without warnings', () => {
    expect(PAGE).toMatch(/^\.TH BMX7D 8 2026\\-01\\-02 "bmx7d 9\.8\.7" /m);
    for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'FILES', 'SIGNALS', 'SEE ALSO'])
      expect(PAGE).toMatch(new RegExp(`^\\.SH "?${section}"?$`, 'm'));
    expect(PAGE).toMatch(/^\.SH "CONFIGURATION FILE"$/m);
    expect(PAGE).toMatch(/^\.SH "EXIT STATUS"$/m);
    expect(groffWarnings(PAGE)).toBe('');
    // no text line that roff would read as a request
    for (const line of PAGE.split('\n'))
      if (/^[.']/.test(line)) expect(line).toMatch(/^\.(?:[A-Za-z]{1,2}\b|\\")/);
  });

  it('lists exactly the options and children of bmx7d --help /r=0, with their aliases, defaults and ranges', () => {
    const help = parseHelp(bmx7d(['--help', '/r=0']));
    const relevant = parseHelp(bmx7d(['--help']));
    const man = parseManOptions(renderMan(writePage()));
    expect(help.length).toBe(TABLE.all().length);
    expect(relevant.length).toBeLessThan(help.length);
    const byName = new Map(man.map((o) => [o.name, o]));
    expect(man.map((o) => o.name).sort()).toEqual(help.map((o) => o.name).sort());
    for (const h of [...help, ...relevant]) {
      const m = byName.get(h.name);
      expect(m, h.name).toBeDefined();
      expect({ name: m?.name, short: m?.short, default: m?.default, range: m?.range }).toEqual({
        name: h.name,
        short: h.short,
        default: h.default,
        range: h.range,
      });
      // the help lists children at this relevance only: every one it lists is in the page, with its default
      const mc = new Map((m?.children ?? []).map((c) => [c.name, c]));
      for (const c of h.children)
        expect(mc.get(c.name), `${h.name} /${c.name}`).toEqual({ ...c, children: [] });
    }
    // and the page has no child the option table lacks
    for (const m of man) {
      const spec = TABLE.get(m.name);
      expect(m.children.map((c) => c.name)).toEqual((spec?.children ?? []).map((c) => c.name));
    }
  });

  it("names bmx7d's own options (--config FILE) as --help does: in its synopsis, none among the table's options", () => {
    const help = bmx7d(['--help']);
    const rendered = renderMan(writePage());
    const synopsis = rendered.slice(rendered.indexOf('SYNOPSIS'), rendered.indexOf('DESCRIPTION'));
    const options = rendered.slice(rendered.indexOf('\nOPTIONS'), rendered.indexOf('CONFIGURATION FILE'));
    expect(START_OPTIONS.length).toBeGreaterThan(0);
    for (const o of START_OPTIONS) {
      const [flag, arg] = o.synopsis.split(' ') as [string, string];
      // --help: in the usage line, and once explained
      expect(help).toContain(`Usage: bmx7d [${o.synopsis}]`);
      expect(help.split(`  ${o.synopsis}: `)).toHaveLength(2);
      // the page: once in the synopsis, not as an option of the table, and the daemon takes it
      expect(synopsis.split(`[${flag} ${arg}]`)).toHaveLength(2);
      expect(options).not.toContain(flag);
      expect(parseStartArgs([flag, 'x.conf'], () => 'dev=eth1\n', TABLE).configFile).toBe('x.conf');
    }
    expect(rendered).toMatch(/CONFIGURATION FILE\n\s+With --config FILE/);
  });

  it('its config example is a config bmx7d starts with', () => {
    const start = parseStartArgs(['--config', 'example.conf'], () => CONFIG_EXAMPLE.join('\n'), TABLE);
    expect(start.state.get('dev')).toMatchObject({ kind: 'multi' });
    expect(() => settingsOf(start.state, { hostname: 'h', pathKind: () => 'dir' })).not.toThrow();
    expect(() => checkPluginSettings(start.state, BUILTIN_PLUGINS)).not.toThrow();
  });

  it('value-less options it calls runtime-only are the ones bmx7d refuses at start; notes and intros name what exists', () => {
    for (const spec of TABLE.all()) {
      // client settings (connect, loopMode) are bmx7ctl's: the daemon has no use for them
      if (spec.type.kind !== 'flag' || /setting of the client/.test(whenText(spec))) continue;
      const refused = (() => {
        try {
          parseStartArgs([spec.name], () => '', TABLE);
          return false;
        } catch {
          return true;
        }
      })();
      expect(whenText(spec).startsWith('at runtime only'), spec.name).toBe(refused);
    }
    for (const name of Object.keys(BMX7D_NOTES)) expect(TABLE.get(name), name).toBeDefined();
    // every module's options and every built-in plugin are introduced in words
    for (const spec of TABLE.all()) expect(CATEGORY_INTRO[spec.category], spec.category).toBeDefined();
    for (const p of BUILTIN_PLUGINS) expect(PLUGIN_SUMMARY[p.name], p.name).toBeDefined();
  });

  it("names bmx7d's tables: an engine with the built-in plugins answers exactly those", () => {
    const clock = createVirtualClock();
    const engine = createEngine({ nodeKey: testRsaKey('node:manpage-test'), hostname: 'm' })({
      clock,
      random: createSeededRandom('manpage'),
      datagrams: { send: () => {} },
      routes: createMemoryRoutes({ clock }),
      storage: createMemoryStorage(),
      logger: createMemoryLogger(),
      files: createMemoryFiles(),
    });
    const made = new Map<string, DaemonPluginInstance>();
    const tun = {
      tunnels: createMemoryBackend(),
      system: { addAddress: async () => {}, removeAddress: async () => {}, sysctl: () => {} },
    };
    for (const p of BUILTIN_PLUGINS) {
      const instance = p.create({
        tun: () => tun,
        wgctrl: () => undefined,
        plugin: (name) => made.get(name),
        pqTransport: () => {
          throw new Error('no post-quantum transport in this test');
        },
      });
      made.set(p.name, instance);
      engine.use(instance);
    }
    expect([...engine.tables()].sort()).toEqual(daemonTableNames().sort());
    const rendered = renderMan(writePage());
    expect(rendered).toContain(`Tables of bmx7d: ${daemonTableNames().join(', ')}`);
  });

  it('its exit statuses are the ones main.ts returns', () => {
    const main = readFileSync(MAIN, 'utf8');
    const returned = new Set([...main.matchAll(/(?:return|exit\()\s*(\d)\b/g)].map((m) => Number(m[1])));
    expect([...returned].sort()).toEqual(BMX7D_EXIT_STATUS.map((e) => e.code).sort());
  });
});
