/**
 * bmx7ctl(8) and its bash completion against bmx7ctl itself: the page renders without groff
 * warnings and lists exactly the commands `bmx7ctl --help` lists, every client option it names
 * (each one parseCtlArgs or main.ts takes), tables bmx7ctl accepts, and the exit statuses of
 * cli.ts; the completion, sourced in bash, completes commands, tables, option words, children,
 * values and file names.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createReferenceOptionTable, parseCtlArgs } from '@bmx7/control';
import { describe, expect, it, onTestFinished } from 'vitest';
import { EXIT } from './cli.js';
import { COMMANDS } from './commands.js';
import {
  allTables,
  bmx7ctlCompletion,
  bmx7ctlManPage,
  CLIENT_OPTIONS,
  type CtlManInput,
  commandWord,
  usageEntries,
} from './manpage.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/** A daemon with the reference's options and one plugin table of its own. */
const INPUT: CtlManInput = {
  version: '9.8.7',
  date: '2026-01-02',
  options: createReferenceOptionTable(),
  daemonTables: ['status', 'links', 'originators', 'tunnels', 'greetings'],
};
const PAGE = bmx7ctlManPage(INPUT);

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bmx7ctl-man-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** bmx7ctl ARGS run from the sources. */
function bmx7ctl(args: string[]): { status: number | null; stdout: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@bmx7/source', MAIN, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout };
}

/** The page as man(1) prints it (man-db and groff-base: infra/setup.sh). */
function rendered(): string {
  const file = join(tempDir(), 'bmx7ctl.8');
  writeFileSync(file, PAGE);
  const r = spawnSync('man', ['-l', file], {
    encoding: 'utf8',
    env: { ...process.env, MANWIDTH: '200', MANPAGER: 'cat', PAGER: 'cat', LC_ALL: 'C.UTF-8' },
  });
  if (r.status !== 0) throw new Error(`man failed: ${r.error ?? r.stderr}`);
  return r.stdout;
}

/** The lines of one section of the rendered page (without its heading). */
function section(text: string, name: string): string[] {
  const lines = text.split('\n');
  const start = lines.indexOf(name);
  expect(start, name).toBeGreaterThan(0);
  const end = lines.findIndex((l, i) => i > start && /^[A-Z][A-Z ]+$/.test(l));
  return lines.slice(start + 1, end);
}

/**
 * First words of the `.TP` entries: a tag at column 7 with its text on the next line at column 14,
 * or a tag shorter than the indent with its text on the same line, at column 14.
 */
function tags(lines: readonly string[]): string[] {
  return lines.flatMap((l, i) => {
    if (!/^ {7}\S/.test(l)) return [];
    const nextIsText = /^ {14}\S/.test(lines[i + 1] ?? '');
    const short = /^ {7}\S+ +$/.test(l.slice(0, 14)) && /\S/.test(l[14] ?? '');
    return nextIsText || short ? [l.trim().split(/[ ,]/)[0] as string] : [];
  });
}

/** Completions of a command line, as bash's programmable completion produces them. */
function complete(script: string, line: string, opts: { byLine?: boolean; cwd?: string } = {}): string[] {
  // bash splits COMP_WORDS at spaces and at '=' (COMP_WORDBREAKS); with byLine the function also
  // gets COMP_LINE and COMP_POINT, as in an interactive shell
  const split = line.replace(/=/g, ' = ').split(/ +/);
  if (line.endsWith(' ') || line.endsWith('=')) split.push('');
  const words = split.filter((w, i) => w !== '' || i === split.length - 1);
  const file = join(tempDir(), 'bmx7ctl.bash');
  writeFileSync(file, script);
  const setLine = opts.byLine === true ? `COMP_LINE=${q(line)}; COMP_POINT=${line.length};` : '';
  const cmd = `source ${q(file)}; COMP_WORDS=(${words.map(q).join(' ')}); COMP_CWORD=${words.length - 1}; ${setLine} _bmx7ctl; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', cmd], { encoding: 'utf8', cwd: opts.cwd });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.split('\n').filter((l) => l !== '');
}

const q = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

describe('bmx7ctl(8)', () => {
  it('is a man(7) page groff renders without warnings', () => {
    expect(PAGE).toMatch(/^\.TH BMX7CTL 8 2026\\-01\\-02 "bmx7ctl 9\.8\.7" /m);
    const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z'], { input: PAGE, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    for (const line of PAGE.split('\n'))
      if (/^[.']/.test(line)) expect(line).toMatch(/^\.(?:[A-Za-z]{1,2}\b|\\")/);
  });

  it('lists exactly the commands of bmx7ctl --help, and every option it names', () => {
    const help = bmx7ctl(['--help']);
    expect(help.status).toBe(EXIT.OK);
    // the commands: two-space indented entries of its command lists
    const helpCommands = new Set<string>();
    let inList = false;
    for (const line of help.stdout.split('\n')) {
      if (/^(?:other )?commands:$/.test(line)) inList = true;
      else if (line.trim() === '') inList = false;
      else if (inList && /^ {2}\S/.test(line)) helpCommands.add(line.trim().split(' ')[0] as string);
    }
    expect(helpCommands.size).toBeGreaterThan(5);
    const text = rendered();
    const pageCommands = new Set(tags(section(text, 'COMMANDS')));
    expect([...pageCommands].sort()).toEqual([...helpCommands].sort());
    // the client options it names are in OPTIONS, and every one there is taken
    const pageOptions = section(text, 'OPTIONS')
      .filter((l) => /^ {7}-/.test(l))
      .flatMap((l) => [...l.matchAll(/(?:^|, | {7})(--?[A-Za-z-]+)/g)].map((m) => m[1] as string));
    // the client's own (on its usage lines) in OPTIONS, a command's with the command
    const usageLines = help.stdout.split('\n').filter((l) => /^\s*(?:usage: )?bmx7ctl /.test(l));
    for (const flag of new Set(usageLines.join(' ').match(/--[a-z][A-Za-z-]*/g)))
      expect(pageOptions).toContain(flag);
    for (const flag of new Set(help.stdout.match(/--[a-z][A-Za-z-]*/g))) expect(text).toContain(flag);
    expect(pageOptions.sort()).toEqual(CLIENT_OPTIONS.flatMap((o) => o.flags).sort());
    for (const o of CLIENT_OPTIONS) {
      for (const flag of o.flags) {
        if (flag === '--version') {
          const v = bmx7ctl(['--version']);
          expect(v.status).toBe(EXIT.OK);
          expect(v.stdout).toMatch(/^bmx7ctl \S+\n$/);
          continue;
        }
        const argv = [
          flag,
          ...(o.arg === undefined ? [] : [o.arg === 'MS' ? '500' : '/tmp']),
          'show',
          'status',
        ];
        expect(['request', 'help'], flag).toContain(parseCtlArgs(argv).kind);
      }
    }
  });

  it('names tables bmx7ctl asks for, who answers them, and the exit statuses of cli.ts', () => {
    const text = rendered();
    const listed = tags(section(text, 'TABLES'));
    expect(listed).toEqual(allTables(INPUT.daemonTables));
    expect(listed).toContain('greetings');
    for (const t of listed) {
      const inv = parseCtlArgs(['show', t]);
      expect(inv.kind === 'request' && inv.requests[0]).toEqual({ op: 'show', args: { table: t } });
    }
    expect(text).toMatch(/^ {7}greetings\n {14}Answered by bmx7d\.$/m);
    expect(text).toMatch(/^ {7}cpu +Answered by the reference bmx7 only\. Columns: neighId /m);
    const codes = tags(section(text, 'EXIT STATUS'));
    expect(codes).toEqual(Object.values(EXIT).map(String));
  });

  it('parses the usage into commands with their text, continuation lines included', () => {
    const entries = usageEntries(
      'usage: x\n\ncommands:\n  show TABLE   a table:\n               any one\n  version\n\nmore',
    );
    expect(entries).toEqual([
      { synopsis: 'show TABLE', text: 'a table: any one' },
      { synopsis: 'version', text: '' },
    ]);
    expect(entries.map(commandWord)).toEqual(['show', 'version']);
  });
});

describe('bmx7ctl bash completion', () => {
  const SCRIPT = bmx7ctlCompletion(INPUT);

  it('is bash that defines and registers _bmx7ctl', () => {
    const r = spawnSync('bash', ['-n'], { input: SCRIPT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(SCRIPT).toMatch(/^complete -F _bmx7ctl bmx7ctl$/m);
  });

  it('completes commands, tables, client options and command arguments', () => {
    expect(complete(SCRIPT, 'bmx7ctl sh')).toEqual(['show']);
    const first = complete(SCRIPT, 'bmx7ctl ');
    for (const c of [...COMMANDS.map((x) => x.name), 'show', 'set', 'get', 'log', 'status', 'greetings'])
      expect(first).toContain(c);
    expect(complete(SCRIPT, 'bmx7ctl show ')).toEqual(allTables(INPUT.daemonTables));
    expect(complete(SCRIPT, 'bmx7ctl show or')).toEqual(['originators']);
    expect(complete(SCRIPT, 'bmx7ctl show originators /')).toEqual(['/r=0', '/r=1', '/r=2']);
    expect(complete(SCRIPT, 'bmx7ctl --j')).toEqual(['--json']);
    expect(complete(SCRIPT, 'bmx7ctl --json sh')).toEqual(['show']);
    expect(complete(SCRIPT, 'bmx7ctl log ')).toContain('12');
    expect(complete(SCRIPT, 'bmx7ctl help ')).toEqual(['verbose']);
    expect(complete(SCRIPT, 'bmx7ctl get ogmInt')).toEqual(['ogmInterval', 'ogmIntervalFactor']);
    expect(complete(SCRIPT, 'bmx7ctl dump x.pcap --v')).toEqual(['--verify']);
  });

  it('completes file names for dump and directories for --runtime-dir', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'line3.pcap'), '');
    spawnSync('mkdir', [join(dir, 'run')]);
    expect(complete(SCRIPT, 'bmx7ctl dump li', { cwd: dir })).toEqual(['line3.pcap']);
    expect(complete(SCRIPT, `bmx7ctl dump ${dir}/li`)).toEqual([`${dir}/line3.pcap`]);
    expect(complete(SCRIPT, 'bmx7ctl --runtime-dir r', { cwd: dir })).toEqual(['run']);
  });

  it("completes the reference syntax: name= forms, queries, children and values, as bash splits at '='", () => {
    expect(complete(SCRIPT, 'bmx7ctl -c sh')).toEqual(['show=']);
    expect(complete(SCRIPT, 'bmx7ctl -c par')).toEqual(['parameters']);
    expect(complete(SCRIPT, 'bmx7ctl -c ogmInt')).toEqual(['ogmInterval=', 'ogmIntervalFactor=']);
    expect(complete(SCRIPT, 'bmx7ctl -lc st')).toEqual(['status']);
    expect(complete(SCRIPT, 'bmx7ctl -c dev=eth1 /ch')).toEqual(['/channel=']);
    expect(complete(SCRIPT, 'bmx7ctl set tunOut=x /n')).toEqual(['/network=']);
    expect(complete(SCRIPT, 'bmx7ctl -c dev=eth1 ogmInterval=900 tunOut=x /n')).toEqual(['/network=']);
    // after '=', bash replaces what follows the '=': the candidates are the values
    for (const byLine of [false, true]) {
      expect(complete(SCRIPT, 'bmx7ctl -c show=', { byLine })).toEqual(allTables(INPUT.daemonTables));
      expect(complete(SCRIPT, 'bmx7ctl -c show=or', { byLine })).toEqual(['originators']);
      expect(complete(SCRIPT, 'bmx7ctl -c syslog=', { byLine })).toEqual(['0', '1']);
      expect(complete(SCRIPT, 'bmx7ctl runtimeDir=/x -c show=li', { byLine })).toEqual(['links']);
    }
    // options given only at start are not offered to a running daemon
    expect(complete(SCRIPT, 'bmx7ctl -c runtimeD')).toEqual([]);
    // every query offered is one the client sends (test and quit go with others)
    const queries = complete(SCRIPT, 'bmx7ctl -c ').filter((x) => !x.endsWith('='));
    expect(queries).toContain('parameters');
    for (const w of queries.filter((x) => x !== 'test' && x !== 'quit')) {
      expect(parseCtlArgs(['-c', w]).kind, w).toBe('request');
    }
  });
});
