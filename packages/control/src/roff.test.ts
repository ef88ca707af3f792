import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  roffBold,
  roffEscape,
  roffItalic,
  roffLiteral,
  roffMacro,
  roffPage,
  roffSentence,
  roffText,
  roffTextLine,
} from './roff.js';

const HEADER = { name: 'demo', section: 8, date: '2026-01-02', source: 'demo 1.0', manual: 'Test Manual' };

/** groff's warnings (-ww) and its text rendering of a page (groff-base: infra/setup.sh). */
function groff(page: string): { warnings: string; text: string } {
  const lint = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z'], { input: page, encoding: 'utf8' });
  const out = spawnSync('groff', ['-man', '-Tutf8', '-P-cbou', '-rLL=120n'], {
    input: page,
    encoding: 'utf8',
  });
  if (lint.status !== 0 || out.status !== 0) throw new Error(`groff failed: ${lint.error ?? lint.stderr}`);
  return { warnings: lint.stderr, text: out.stdout };
}

describe('roff', () => {
  it('escapes backslashes, hyphens and characters outside ASCII', () => {
    expect(roffEscape('a\\b')).toBe('a\\eb');
    expect(roffEscape('--name=-eth1')).toBe('\\-\\-name=\\-eth1');
    expect(roffEscape('delay in µs …')).toBe('delay in \\[u00B5]s \\[u2026]');
    expect(roffEscape('two\nlines')).toBe('two lines');
    expect(roffBold('-c')).toBe('\\fB\\-c\\fR');
    expect(roffItalic('FILE')).toBe('\\fIFILE\\fR');
  });

  it('never starts a text line with a control character', () => {
    expect(roffTextLine('.hidden')).toBe('\\&.hidden');
    expect(roffTextLine("'quoted")).toBe("\\&'quoted");
    expect(roffTextLine('  indented')).toBe('indented');
    expect(roffTextLine('plain')).toBe('plain');
  });

  it('makes text, literal and sentence lines', () => {
    expect(roffText(' .a-b')).toBe('\\&.a\\-b');
    expect(roffLiteral('  -x value')).toBe('\\&  \\-x value');
    expect(roffSentence(' stop cleanly ')).toBe('Stop cleanly.');
    expect(roffSentence('Done!')).toBe('Done!');
  });

  it('quotes macro arguments with spaces or quotes', () => {
    expect(roffMacro('SH', 'SEE ALSO')).toBe('.SH "SEE ALSO"');
    expect(roffMacro('TP')).toBe('.TP');
    expect(roffMacro('SS', 'a "b"')).toBe('.SS "a \\(dqb\\(dq"');
    expect(roffMacro('TH', 'X', '')).toBe('.TH X ""');
  });

  it('makes a page groff reads without warnings and prints as written', () => {
    const page = roffPage(HEADER, [
      roffMacro('SH', 'NAME'),
      roffTextLine(roffEscape('demo - a page')),
      roffMacro('SH', 'OPTIONS'),
      '.TP',
      roffTextLine(`${roffBold('--dev')}=${roffItalic('NAME')}`),
      roffTextLine(roffEscape('.starts with a dot, has a \\ and ends in µs')),
    ]);
    expect(page.startsWith('.\\"')).toBe(true);
    expect(page).toMatch(/^\.TH DEMO 8 2026\\-01\\-02 "demo 1\.0" "Test Manual"$/m);
    const g = groff(page);
    expect(g.warnings).toBe('');
    expect(g.text).toMatch(/--dev=NAME\n\s+\.starts with a dot, has a \\ and ends in µs/);
  });
});
