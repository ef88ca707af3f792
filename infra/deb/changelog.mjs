#!/usr/bin/env node
// Prints the Debian changelog of the bmx7d package (a native package: /usr/share/doc/bmx7d/
// changelog.gz): one entry for VERSION, whose items are that version's changes from
// apps/bmx7d/CHANGELOG.md (what changesets write), or one item naming the release where that
// file has no section for it yet.
//
//   node infra/deb/changelog.mjs VERSION 'Name <address>' EPOCH_SECONDS
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WIDTH = 78;

/** The change items of one version's section in a changesets CHANGELOG.md. */
export function changesOf(markdown, version) {
  const lines = markdown.split(/\r?\n/);
  const start = lines.findIndex((l) => l.trim() === `## ${version}`);
  if (start < 0) return [];
  const items = [];
  for (const line of lines.slice(start + 1)) {
    if (/^## /.test(line)) break;
    const m = /^[-*] (?:[0-9a-f]{7,40}: )?(.*)$/.exec(line);
    if (m) items.push(m[1].trim());
    else if (/^\s+\S/.test(line) && items.length > 0) items[items.length - 1] += ` ${line.trim()}`;
  }
  // Markdown emphasis and code marks are noise in a plain-text changelog
  return items.map((t) => t.replace(/[`*]/g, '')).filter((t) => t.length > 0);
}

/** `  * text`, wrapped at WIDTH columns with continuation lines indented by four. */
function item(text) {
  const out = [];
  let line = '  *';
  for (const word of text.split(/\s+/)) {
    if (line.length + 1 + word.length > WIDTH && line.trim() !== '*') {
      out.push(line);
      line = '   ';
    }
    line += ` ${word}`;
  }
  out.push(line);
  return out.join('\n');
}

export function debianChangelog(version, maintainer, epochSeconds, markdown) {
  const changes = changesOf(markdown, version);
  const items = changes.length > 0 ? changes : [`bmx7d ${version}.`];
  const date = new Date(epochSeconds * 1000).toUTCString().replace('GMT', '+0000');
  // RFC 5322 as dpkg wants it: "Thu, 05 Dec 2026 00:46:54 +0000"
  return `bmx7d (${version}) unstable; urgency=medium\n\n${items.map(item).join('\n')}\n\n -- ${maintainer}  ${date}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [version, maintainer, epoch] = process.argv.slice(2);
  if (!version || !maintainer || !/^\d+$/.test(epoch ?? '')) {
    process.stderr.write("usage: node infra/deb/changelog.mjs VERSION 'Name <address>' EPOCH_SECONDS\n");
    process.exit(2);
  }
  let markdown = '';
  try {
    markdown = readFileSync(join(ROOT, 'apps', 'bmx7d', 'CHANGELOG.md'), 'utf8');
  } catch {
    // no release notes yet: the entry names the version only
  }
  process.stdout.write(debianChangelog(version, maintainer, Number(epoch), markdown));
}
