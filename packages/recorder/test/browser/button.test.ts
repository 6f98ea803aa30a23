/**
 * <sortie-record-button> in Chromium against the real service: keyboard
 * Record/Stop with elapsed time and upload state, auto-record when the admin
 * turned it on (a manual stop respected), hidden when recording is disabled.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, mintToken, openPage, startService, USER, type TestService } from './harness.js';

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

/** A page with the element wired to a moving canvas; events logged on window.log. */
async function pageWithButton(baseUrl: string): Promise<Page> {
  const page = await openPage(browser, baseUrl);
  await page.exposeFunction('testToken', () => mintToken(USER, 600));
  await page.evaluate((base) => {
    const w = window as unknown as { animatedCanvas(): HTMLCanvasElement; testToken(): Promise<string>; log: unknown[] };
    w.log = [];
    const el = document.createElement('sortie-record-button');
    el.setAttribute('base-url', base);
    el.setAttribute('session-id', 'sess-button');
    el.recorderOptions = { timesliceMs: 500 };
    el.source = w.animatedCanvas();
    el.getToken = () => w.testToken();
    for (const t of ['sortie-statechange', 'sortie-ready', 'sortie-error']) el.addEventListener(t, (e) => w.log.push([t, (e as CustomEvent).detail]));
    document.body.appendChild(el);
  }, baseUrl);
  return page;
}

const shadowText = (page: Page, sel: string) => page.locator(`sortie-record-button ${sel}`).textContent();
const states = (page: Page) =>
  page.evaluate(() => (window as unknown as { log: [string, { state?: string }][] }).log.filter(([t]) => t === 'sortie-statechange').map(([, d]) => d.state));

describe('<sortie-record-button>', () => {
  it('records and saves from the keyboard, showing elapsed time and upload state', async () => {
    const page = await pageWithButton(svc.baseUrl);
    const button = page.getByRole('button', { name: 'Start recording' });
    await button.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Stop recording' }).waitFor();
    expect(await page.locator('sortie-record-button button').getAttribute('aria-pressed')).toBe('true');
    expect(await page.getByRole('status').textContent()).toBe('Recording');
    await page.waitForTimeout(2200);
    expect(await shadowText(page, '.time')).toMatch(/^00:0[2-3]$/);
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor({ timeout: 30_000 });
    const ready = await page.evaluate(() => (window as unknown as { log: [string, { recording?: { status: string; sizeBytes: number } }][] }).log.find(([t]) => t === 'sortie-ready'));
    expect(ready?.[1].recording).toMatchObject({ status: 'ready' });
    expect(ready![1].recording!.sizeBytes).toBeGreaterThan(0);
    expect(await states(page)).toEqual(['starting', 'recording', 'stopping', 'uploading', 'ready']);
    expect(await page.locator('sortie-record-button').isVisible()).toBe(true);
    await page.close();
  });

  it('auto-records when the session runs and autoRecord is on, and respects a manual stop', async () => {
    const admin = mintToken({ sub: 'demo-admin', name: 'Demo Admin', role: 'admin' }, 600);
    const put = await fetch(`${svc.baseUrl}/api/admin/settings`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ autoRecord: true }),
    });
    expect(put.status).toBe(200);
    const page = await pageWithButton(svc.baseUrl);
    await page.evaluate(() => (document.querySelector('sortie-record-button')!.sessionState = 'running'));
    await page.getByRole('button', { name: 'Stop recording' }).waitFor({ timeout: 15_000 });
    await page.waitForTimeout(1000);
    await page.getByRole('button', { name: 'Stop recording' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor({ timeout: 30_000 });
    // Still running: auto-record must not start again after the user's stop.
    await page.evaluate(() => (document.querySelector('sortie-record-button')!.sessionState = 'running'));
    await page.waitForTimeout(1500);
    expect(await states(page)).toEqual(['starting', 'recording', 'stopping', 'uploading', 'ready']);
    await page.close();
  });

  it('hides itself when recording is disabled on the service', async () => {
    const off = await startService({ SORTIE_VIDEO_RECORDING_ENABLED: 'false' });
    try {
      const page = await pageWithButton(off.baseUrl);
      await page.waitForFunction(() => document.querySelector('sortie-record-button')!.hidden === true);
      expect(await page.locator('sortie-record-button').isVisible()).toBe(false);
      await page.close();
    } finally {
      await off.close();
    }
  });
});
