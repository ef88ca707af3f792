/**
 * infra/deb/changelog.mjs: the Debian changelog of the package from a changesets CHANGELOG.md,
 * checked against dpkg's own parser where dpkg-dev is installed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { changesOf, debianChangelog } from './changelog.mjs';

const MARKDOWN = `# bmx7d

## 0.3.0

### Minor Changes

- 1a2b3c4: A Debian package: \`pnpm package:deb\` builds the package, and the **service** is installed disabled; name the interfaces first, then enable it with systemctl, which starts it now and at every boot.

### Patch Changes

- 5d6e7f8: bmx7d restores the sysctls
  it changed, also after a crash.
- Updated dependencies [1a2b3c4]

## 0.2.0

### Minor Changes

- 9a8b7c6: An older change.
`;

describe('Debian changelog', () => {
  it('takes the items of one version, without commit ids and markdown marks', () => {
    expect(changesOf(MARKDOWN, '0.3.0')).toEqual([
      'A Debian package: pnpm package:deb builds the package, and the service is installed disabled; name the interfaces first, then enable it with systemctl, which starts it now and at every boot.',
      'bmx7d restores the sysctls it changed, also after a crash.',
      'Updated dependencies [1a2b3c4]',
    ]);
    expect(changesOf(MARKDOWN, '0.2.0')).toEqual(['An older change.']);
    expect(changesOf(MARKDOWN, '9.9.9')).toEqual([]);
    expect(changesOf('', '0.1.0')).toEqual([]);
  });

  it('writes one entry, lines within 80 columns, a date in RFC 5322 form', () => {
    const text = debianChangelog('0.3.0', 'A Maintainer <a@example.org>', 1_800_000_000, MARKDOWN);
    const lines = text.split('\n');
    expect(lines[0]).toBe('bmx7d (0.3.0) unstable; urgency=medium');
    expect(lines.every((l) => l.length <= 80)).toBe(true);
    expect(lines.filter((l) => l.startsWith('  * '))).toHaveLength(3);
    expect(text).toMatch(/\n -- A Maintainer <a@example\.org> {2}Fri, 15 Jan 2027 08:00:00 \+0000\n$/);
  });

  it('names the release alone where CHANGELOG.md has no section for it', () => {
    const text = debianChangelog('0.1.0', 'A Maintainer <a@example.org>', 0, '');
    expect(text.split('\n').filter((l) => l.startsWith('  * '))).toEqual(['  * bmx7d 0.1.0.']);
  });

  it('parses with dpkg-parsechangelog (dpkg-dev)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmx7d-changelog-'));
    try {
      const file = join(dir, 'changelog');
      writeFileSync(file, debianChangelog('0.3.0', 'A Maintainer <a@example.org>', 1_800_000_000, MARKDOWN));
      const r = spawnSync('dpkg-parsechangelog', ['-l', file], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^Version: 0\.3\.0$/m);
      expect(r.stdout).toMatch(/^Distribution: unstable$/m);
      expect(r.stdout).toMatch(/^Maintainer: A Maintainer <a@example\.org>$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
