/**
 * The compositor's frame clock under a Content-Security-Policy. Its Worker is
 * made from a Blob URL, which a CSP must allow (`worker-src blob:`): the
 * service's own pages' policy does, and under it the frames come from the
 * Worker with no violation. Under a policy that refuses it, the compositor
 * falls back to the page's timer rather than stopping.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, pageScript, startService, type TestService } from './harness.js';

let svc: TestService;
let browser: Browser;

beforeAll(async () => {
  svc = await startService();
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await svc?.close();
});

/** A page on the service's origin under `csp`, its script a same-origin file (no inline script under a strict CSP). */
async function pageUnder(csp: string): Promise<{ page: Page; violations: () => Promise<string[]> }> {
  const page = await browser.newPage();
  const script = await pageScript('./compositor-entry.ts');
  await page.route(`${svc.baseUrl}/__csp__/`, (r) =>
    r.fulfill({
      contentType: 'text/html',
      headers: { 'Content-Security-Policy': csp },
      body: '<!doctype html><html><body><script src="/__csp__/entry.js"></script></body></html>',
    }),
  );
  await page.route(`${svc.baseUrl}/__csp__/entry.js`, (r) =>
    r.fulfill({ contentType: 'text/javascript', body: script }),
  );
  await page.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto(`${svc.baseUrl}/__csp__/`);
  return { page, violations: () => page.evaluate(() => (window as unknown as { __csp: string[] }).__csp) };
}

async function tickSourceUnder(page: Page): Promise<string> {
  await page.evaluate(() =>
    (window as unknown as { composeHtml(h: string, o: unknown): void }).composeHtml(
      '<div id="stage" style="position:relative;width:200px;height:100px"><canvas width="200" height="100"></canvas></div>',
      {},
    ),
  );
  return page.evaluate(() =>
    (window as unknown as { directTickSourceAfter(ms: number): Promise<string> }).directTickSourceAfter(1000),
  );
}

describe('the compositor under a Content-Security-Policy', () => {
  it("paces frames from its Worker under the service's own pages' policy, with no violation", async () => {
    // Any path outside /api gets the pages' policy (apps/server/src/lib/http-guards.ts).
    const res = await fetch(`${svc.baseUrl}/some-page`);
    await res.body?.cancel();
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("worker-src 'self' blob:");
    const { page, violations } = await pageUnder(csp);
    expect(await tickSourceUnder(page)).toBe('worker');
    expect(await violations()).toEqual([]);
    await page.close();
  });

  it("falls back to the page's timer under a policy that refuses blob: workers", async () => {
    const { page, violations } = await pageUnder("default-src 'self'; script-src 'self'");
    expect(await tickSourceUnder(page)).toBe('page-timer');
    expect((await violations()).join('\n')).toMatch(/worker-src|script-src/);
    await page.close();
  });
});
