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
    const w = window as unknown as {
      animatedCanvas(): HTMLCanvasElement;
      testToken(): Promise<string>;
      log: unknown[];
    };
    w.log = [];
    const el = document.createElement('sortie-record-button');
    el.setAttribute('base-url', base);
    el.setAttribute('session-id', 'sess-button');
    el.recorderOptions = { timesliceMs: 500 };
    el.source = w.animatedCanvas();
    el.getToken = () => w.testToken();
    for (const t of ['sortie-statechange', 'sortie-ready', 'sortie-error'])
      el.addEventListener(t, (e) => w.log.push([t, (e as CustomEvent).detail]));
    document.body.appendChild(el);
  }, baseUrl);
  return page;
}

/** Turns the service's auto-record setting on (the admin's switch). */
async function autoRecordOn(baseUrl: string): Promise<void> {
  const admin = mintToken({ sub: 'demo-admin', name: 'Demo Admin', role: 'admin' }, 600);
  const put = await fetch(`${baseUrl}/api/admin/settings`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ autoRecord: true }),
  });
  expect(put.status).toBe(200);
}

/** The session ids of the recordings the button reported ready, in order. */
const readySessions = (page: Page) =>
  page.evaluate(() =>
    (window as unknown as { log: [string, { recording?: { sessionId: string } }][] }).log
      .filter(([t]) => t === 'sortie-ready')
      .map(([, d]) => d.recording!.sessionId),
  );

/** Presses Stop and waits until the button has reported `count` ready recordings. */
async function stopAndWaitReady(page: Page, count: number): Promise<void> {
  await page.getByRole('button', { name: 'Stop recording' }).click();
  await page.waitForFunction(
    (n) => (window as unknown as { log: [string][] }).log.filter(([t]) => t === 'sortie-ready').length >= n,
    count,
    { timeout: 30_000 },
  );
}

const shadowText = (page: Page, sel: string) => page.locator(`sortie-record-button ${sel}`).textContent();
const states = (page: Page) =>
  page.evaluate(() =>
    (window as unknown as { log: [string, { state?: string }][] }).log
      .filter(([t]) => t === 'sortie-statechange')
      .map(([, d]) => d.state),
  );

describe('<sortie-record-button>', () => {
  it('records and saves from the keyboard, showing elapsed time and upload state', async () => {
    const page = await pageWithButton(svc.baseUrl);
    const button = page.getByRole('button', { name: 'Start recording' });
    // Every text the live region and the visual percentage show, in order.
    await page.evaluate(() => {
      const root = document.querySelector('sortie-record-button')!.shadowRoot!;
      const w = window as unknown as { seen: Record<string, string[]> };
      w.seen = { status: [], progress: [] };
      for (const name of ['status', 'progress']) {
        const node = root.querySelector(`.${name}`)!;
        new MutationObserver(() => w.seen[name]!.push(node.textContent ?? '')).observe(node, {
          childList: true,
          subtree: true,
          characterData: true,
        });
      }
    });
    await button.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Stop recording' }).waitFor();
    // The label says what the button does; no aria-pressed on top of it ("Stop recording, pressed").
    expect(await page.locator('sortie-record-button button').getAttribute('aria-pressed')).toBeNull();
    expect(await page.getByRole('status').textContent()).toBe('Recording');
    await page.waitForTimeout(2200);
    expect(await shadowText(page, '.time')).toMatch(/^00:0[2-3]$/);
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor({ timeout: 30_000 });
    const ready = await page.evaluate(() =>
      (window as unknown as { log: [string, { recording?: { status: string; sizeBytes: number } }][] }).log.find(
        ([t]) => t === 'sortie-ready',
      ),
    );
    expect(ready?.[1].recording).toMatchObject({ status: 'ready' });
    expect(ready![1].recording!.sizeBytes).toBeGreaterThan(0);
    expect(await states(page)).toEqual(['starting', 'recording', 'stopping', 'uploading', 'ready']);
    expect(await page.locator('sortie-record-button').isVisible()).toBe(true);
    // The live region is rewritten only when the state changes; the percentage is visual only (aria-hidden).
    const seen = await page.evaluate(() => (window as unknown as { seen: Record<string, string[]> }).seen);
    expect(seen.status).toContain('Saving…');
    expect(seen.status!.filter((t) => !['', 'Starting…', 'Recording', 'Saving…', 'Saved'].includes(t))).toEqual([]);
    expect(seen.progress!.some((t) => /^\d{1,3}%$/.test(t))).toBe(true);
    expect(await page.locator('sortie-record-button .progress').getAttribute('aria-hidden')).toBe('true');
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

describe('<sortie-record-button> property and attribute order', () => {
  it('applies sessionState set before getToken, source and session-id', async () => {
    await autoRecordOn(svc.baseUrl);
    const page = await openPage(browser, svc.baseUrl);
    await page.exposeFunction('testToken', () => mintToken(USER, 600));
    await page.evaluate((base) => {
      const w = window as unknown as {
        animatedCanvas(): HTMLCanvasElement;
        testToken(): Promise<string>;
        log: unknown[];
      };
      w.log = [];
      const el = document.createElement('sortie-record-button');
      for (const t of ['sortie-statechange', 'sortie-ready', 'sortie-error'])
        el.addEventListener(t, (e) => w.log.push([t, (e as CustomEvent).detail]));
      document.body.appendChild(el);
      // The session says it runs before the button has anything to record with.
      el.sessionState = 'running';
      el.getToken = () => w.testToken();
      el.source = w.animatedCanvas();
      el.setAttribute('base-url', base);
      el.setAttribute('session-id', 'sess-late');
    }, svc.baseUrl);
    await page.getByRole('button', { name: 'Stop recording' }).waitFor({ timeout: 15_000 });
    await stopAndWaitReady(page, 1);
    expect(await readySessions(page)).toEqual(['sess-late']);
    await page.close();
  });

  it('keeps auto-record after a session-id change: the new running session records by itself', async () => {
    await autoRecordOn(svc.baseUrl);
    const page = await pageWithButton(svc.baseUrl);
    await page.evaluate(() => (document.querySelector('sortie-record-button')!.sessionState = 'running'));
    await page.getByRole('button', { name: 'Stop recording' }).waitFor({ timeout: 15_000 });
    await stopAndWaitReady(page, 1);
    // The host moves the button to another session that is already running.
    await page.evaluate(() => document.querySelector('sortie-record-button')!.setAttribute('session-id', 'sess-next'));
    await page.getByRole('button', { name: 'Stop recording' }).waitFor({ timeout: 15_000 });
    await stopAndWaitReady(page, 2);
    expect(await readySessions(page)).toEqual(['sess-button', 'sess-next']);
    await page.close();
  });

  it('applies a session-id change made during a recording to the next recording', async () => {
    const page = await pageWithButton(svc.baseUrl);
    await page.getByRole('button', { name: 'Start recording' }).click();
    await page.getByRole('button', { name: 'Stop recording' }).waitFor();
    await page.evaluate(() =>
      document.querySelector('sortie-record-button')!.setAttribute('session-id', 'sess-changed'),
    );
    await page.waitForTimeout(800);
    await stopAndWaitReady(page, 1);
    await page.getByRole('button', { name: 'Start recording' }).click();
    await page.getByRole('button', { name: 'Stop recording' }).waitFor();
    await page.waitForTimeout(800);
    await stopAndWaitReady(page, 2);
    expect(await readySessions(page)).toEqual(['sess-button', 'sess-changed']);
    await page.close();
  });

  it('uses a getToken assigned after the recorder was made', async () => {
    const page = await pageWithButton(svc.baseUrl);
    // The recorder is made with a token the service refuses …
    await page.evaluate(() => (document.querySelector('sortie-record-button')!.getToken = () => 'not-a-valid-token'));
    await page.getByRole('button', { name: 'Start recording' }).click();
    await page.waitForFunction(() =>
      (window as unknown as { log: [string, { error?: { code?: string } }][] }).log.some(
        ([t, d]) => t === 'sortie-error' && d.error?.code === 'unauthorized',
      ),
    );
    // … then the host assigns a working one, and the next press records with it.
    await page.evaluate(() => {
      const w = window as unknown as { testToken(): Promise<string> };
      document.querySelector('sortie-record-button')!.getToken = () => w.testToken();
    });
    await page.getByRole('button', { name: 'Start recording' }).click();
    await page.getByRole('button', { name: 'Stop recording' }).waitFor({ timeout: 15_000 });
    await stopAndWaitReady(page, 1);
    expect(await readySessions(page)).toEqual(['sess-button']);
    await page.close();
  });
});
