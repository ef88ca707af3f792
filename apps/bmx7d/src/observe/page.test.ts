import { createHash } from 'node:crypto';
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { PAGE_CSP, STATUS_PAGE, STATUS_PAGE_SCRIPT } from './page.js';

const inline = (tag: string) => new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(STATUS_PAGE)?.[1] ?? '';
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('base64');

describe('the status page', () => {
  it('its script compiles', () => {
    expect(() => new Script(STATUS_PAGE_SCRIPT)).not.toThrow();
  });

  it('allows by hash exactly its inline script and style, and requests to its own origin only', () => {
    expect(inline('script')).toBe(STATUS_PAGE_SCRIPT);
    expect(PAGE_CSP).toContain(`script-src 'sha256-${sha256(inline('script'))}'`);
    expect(PAGE_CSP).toContain(`style-src 'sha256-${sha256(inline('style'))}'`);
    expect(PAGE_CSP).toMatch(/^default-src 'none'; /);
    expect(PAGE_CSP).toContain("connect-src 'self'");
    expect(PAGE_CSP).not.toMatch(/unsafe|\*|http/);
  });

  it('loads nothing from elsewhere and has one script and one style', () => {
    expect(STATUS_PAGE.match(/<script/g)).toHaveLength(1);
    expect(STATUS_PAGE.match(/<style/g)).toHaveLength(1);
    expect(STATUS_PAGE).not.toMatch(/\b(src|href)=/);
    // the one URL is SVG's namespace name (an identifier, never fetched)
    expect(STATUS_PAGE.match(/https?:\/\/[^'"\s]+/g)).toEqual(['http://www.w3.org/2000/svg']);
  });

  it('puts strings into the document as text only: no markup-parsing DOM calls', () => {
    for (const api of [
      'innerHTML',
      'outerHTML',
      'insertAdjacentHTML',
      'document.write',
      'eval(',
      'Function(',
      'srcdoc',
    ])
      expect(STATUS_PAGE_SCRIPT, api).not.toContain(api);
    expect(STATUS_PAGE_SCRIPT).toContain('textContent');
  });
});
