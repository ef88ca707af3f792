/**
 * The status page in headless Chromium (Debian's, driven by playwright-core over a pipe):
 *
 *   n2 [eth1] ── [eth1] n1 [eth2] ── [eth1] n3        n1: httpListen=8080, Chromium inside n1
 *
 * Chromium runs inside n1's namespace (a wrapper runs it under `ip netns exec`), so the page is
 * fetched from n1's loopback. The page lists all three nodes and draws them; n3 stopped, its link
 * and route go once the link times out (linkTimeout, at its minimum of 10 s), and n3 itself once the
 * references to it expire (72 s, fixed by the protocol). Screenshots are kept in the system's
 * temporary directory (their paths are printed).
 *
 * A second part serves the page from this process on the host's loopback with a made-up snapshot
 * whose host names are markup: they show as text, no script of theirs runs, and the page follows
 * a changing snapshot and says so when the daemon stops answering.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMesh, type Mesh } from '@bmx7/testbed';
import { describeNetns } from '@bmx7/testenv/env';
import { waitFor } from '@bmx7/testenv/netns';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupCryptTest } from '../test/crypt.js';
import { bmx7dSpec, ctlFor, daemonLog, showRows } from '../test/helpers.js';
import { HOSTILE_NAME, testSnapshot } from '../test/observe.js';
import { findSecrets, nodeSecrets } from '../test/secrets.js';
import { createObserver, type Observer } from './index.js';
import type { Snapshot } from './snapshot.js';

// the page's globals, as the functions run in the page use them (this package has no DOM types)
declare const document: {
  querySelectorAll(
    selector: string,
  ): ArrayLike<{ textContent: string | null }> & Iterable<{ textContent: string | null }>;
};
declare const window: { __pwned?: number };

const CHROMIUM = '/usr/bin/chromium';
/** Headless, as root, nothing fetched but what the page asks for. */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A browser with a fresh profile in a temporary directory; `ns`: run it inside that namespace. */
async function openBrowser(
  ns?: string,
): Promise<{ context: BrowserContext; page: Page; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'bmx7-chromium-'));
  let executablePath = CHROMIUM;
  if (ns) {
    executablePath = join(dir, 'chromium-in-netns');
    writeFileSync(executablePath, `#!/bin/sh\nexec ip netns exec ${ns} ${CHROMIUM} "$@"\n`);
    chmodSync(executablePath, 0o755);
  }
  const profile = join(dir, 'profile');
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1280, height: 1000 },
      timeout: 60_000,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    return {
      context,
      page,
      close: async () => {
        await context.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** What a page reported: script errors, console errors and CSP violations. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  return problems;
}

/** The names in the originators table and in the drawing, sorted. */
const originatorNames = (page: Page) =>
  page.$$eval('#originators tbody tr[data-id] td.name', (tds) =>
    tds.map((td) => td.textContent ?? '').sort(),
  );
const drawnNames = (page: Page) =>
  page.$$eval('#mesh g.node text.name', (ts) => ts.map((t) => t.textContent ?? '').sort());

describeNetns('the status page in headless Chromium', () => {
  describe('a 3-node mesh, Chromium inside n1', () => {
    let mesh: Mesh;
    let browser: Awaited<ReturnType<typeof openBrowser>> | undefined;
    const ctl = ctlFor(() => mesh);

    beforeAll(async () => {
      mesh = createMesh(
        {
          kind: 'edges',
          edges: [
            [1, 2],
            [1, 3],
          ],
        },
        { prefix: 'op' },
      );
      // WireGuard on (wireguard-go): its key and the KEM seed exist; tunnel devices would start W1…W3
      mesh.startAll(
        bmx7dSpec((n) => [
          'linkTimeout=10000',
          `tunDevName=W${n.name.slice(1)}`,
          ...(n.name === 'n1' ? ['httpListen=8080'] : []),
        ]),
      );
      await waitFor('n1 knows n2 and n3', () => showRows(ctl, 'n1', 'originators').length === 3, {
        timeoutMs: 60_000,
        intervalMs: 500,
      }).catch((e) => {
        throw new Error(`${(e as Error).message}\n${daemonLog(mesh, 'n1')}`);
      });
      browser = await openBrowser(mesh.node('n1').ns);
    }, 120_000);
    afterAll(async () => {
      await browser?.close();
      cleanupCryptTest(/^W[1-3]wg/, mesh, undefined);
    });

    it('lists and draws all three nodes; a node that leaves disappears', async () => {
      const page = browser!.page;
      const problems = watch(page);
      const res = await page.goto('http://127.0.0.1:8080/');
      expect(res?.status()).toBe(200);
      await page.waitForFunction(
        () => document.querySelectorAll('#originators tbody tr[data-id]').length === 2,
        null,
        {
          timeout: 15_000,
        },
      );
      expect(await page.textContent('#name')).toBe('n1');
      expect(await originatorNames(page)).toEqual(['n2', 'n3']);
      expect(await drawnNames(page)).toEqual(['n1', 'n2', 'n3']);
      expect(await page.$$eval('#links tbody tr[data-id]', (r) => r.length)).toBe(2);
      expect(await page.$$eval('#mesh line.link', (l) => l.length)).toBe(2);
      // both routed (the picture worth keeping)
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll('#originators tbody tr[data-id] td:nth-child(4)')].every(
            (td) => td.textContent !== 'not routed',
          ),
        null,
        { timeout: 30_000 },
      );
      const shot = join(tmpdir(), `bmx7d-status-page-${mesh.id}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`status page screenshot: ${shot}`);

      // what the browser was given holds no key of any node
      const secrets = ['n1', 'n2', 'n3'].flatMap((n) => nodeSecrets(n, mesh.node(n).dir));
      const api = await page.evaluate(() => fetch('api/status').then((r) => r.text()));
      expect(findSecrets('the page', Buffer.from(`${await page.content()}${api}`), secrets)).toEqual([]);

      const t0 = Date.now();
      const secs = () => ((Date.now() - t0) / 1000).toFixed(1);
      await mesh.stop('n3');
      // its link times out (linkTimeout) and its route goes: the page follows at once
      await page.waitForFunction(
        () =>
          document.querySelectorAll('#links tbody tr[data-id]').length === 1 &&
          [...document.querySelectorAll('#originators tbody tr[data-id]')].some(
            (tr) => tr.textContent?.startsWith('n3') && tr.textContent.includes('not routed'),
          ),
        null,
        { timeout: 40_000, polling: 250 },
      );
      console.log(`status page: n3's link and route gone ${secs()} s after it stopped`);
      await page.screenshot({
        path: join(tmpdir(), `bmx7d-status-page-${mesh.id}-leaving.png`),
        fullPage: true,
      });
      // the originator goes once the neighbours' references to it expire (72 s after its last
      // OGM: docs/protocol.md §4.9, §4.10 "Routes")
      await page.waitForFunction(
        () => ![...document.querySelectorAll('#originators td.name')].some((td) => td.textContent === 'n3'),
        null,
        { timeout: 150_000, polling: 500 },
      );
      console.log(`status page: n3 gone from the page ${secs()} s after it stopped`);
      expect(await originatorNames(page)).toEqual(['n2']);
      expect(await drawnNames(page)).toEqual(['n1', 'n2']);
      await page.screenshot({
        path: join(tmpdir(), `bmx7d-status-page-${mesh.id}-after.png`),
        fullPage: true,
      });
      expect(problems).toEqual([]);
    }, 120_000);
  });

  describe('a made-up snapshot served from this process (host loopback)', () => {
    let observer: Observer;
    let current: Snapshot = testSnapshot();
    let browser: Awaited<ReturnType<typeof openBrowser>> | undefined;
    let url: string;

    beforeAll(async () => {
      observer = createObserver({ snapshot: () => current, now: () => Date.now() });
      await observer.apply(undefined, { host: '127.0.0.1', port: 0, text: '127.0.0.1:0' });
      url = `http://127.0.0.1:${observer.listeners()[0]!.listen.port}/`;
      browser = await openBrowser();
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await observer.close();
    });

    it('shows hostile host names as text: no markup of theirs, no script of theirs runs', async () => {
      const page = browser!.page;
      const problems = watch(page);
      await page.goto(url);
      await page.waitForSelector('#originators tbody tr[data-id="CCCC0003"]');
      const cell = await page.textContent('#originators tr[data-id="CCCC0003"] td.name');
      expect(cell).toBe(HOSTILE_NAME);
      expect(await drawnNames(page)).toContain(HOSTILE_NAME);
      expect(await page.textContent('#tunnels tr[data-id="up6"]')).toContain(HOSTILE_NAME);
      expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
      expect(await page.$$eval('img', (i) => i.length)).toBe(0);
      expect(await page.$$eval('script', (s) => s.length)).toBe(1);
      // badges: crypt and PSK source of each tunnel
      expect(await page.$$eval('#tunnels .badge', (b) => b.map((x) => x.textContent))).toEqual([
        'plain',
        'none',
        'encrypted',
        'pq',
      ]);
      expect(problems).toEqual([]);
    });

    it('follows the snapshot as it changes, and says when the daemon stops answering', async () => {
      const page = browser!.page;
      await page.goto(url);
      await page.waitForSelector('#originators tbody tr[data-id="DDDD0004"]');
      current = testSnapshot({ originators: current.originators.filter((o) => o.shortId !== 'DDDD0004') });
      await page.waitForSelector('#originators tbody tr[data-id="DDDD0004"]', {
        state: 'detached',
        timeout: 5_000,
      });
      expect(await page.$$eval('#mesh g.node', (g) => g.length)).toBe(3);
      await observer.apply(undefined, undefined);
      await page.waitForSelector('#live.stale', { timeout: 10_000 });
      expect(await page.textContent('#live')).toMatch(/no answer from bmx7d/);
    });
  });
});
