/**
 * A Chromium whose tabs really go to the background. Playwright keeps every
 * page it drives "visible" (it turns on focus emulation for each page, which
 * holds the tab as if captured, and its default switches turn off background
 * throttling), so a second tab brought to the front leaves the first one
 * visible and unthrottled: nothing a hidden tab does would be tested. Here
 * Chromium is started as a user would start it (no Playwright switches) and
 * Playwright connects over CDP with `noDefaults`, which leaves the default
 * context's pages as the browser makes them: a page behind another tab is
 * `hidden`, its timers throttled, its requestAnimationFrame stopped.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export interface BackgroundBrowser {
  browser: Browser;
  /** The default context: its new pages are tabs of one window. */
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchWithBackgroundTabs(): Promise<BackgroundBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'sortie-chromium-'));
  const proc = spawn(
    '/usr/bin/chromium',
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-sync',
      '--disable-component-update',
      '--disable-background-networking',
      '--autoplay-policy=no-user-gesture-required',
      '--remote-debugging-port=0',
      `--user-data-dir=${profile}`,
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const endpoint = await new Promise<string>((resolve, reject) => {
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /DevTools listening on (ws:\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    proc.on('exit', (code) => reject(new Error(`chromium exited (${code}) before listening: ${err.slice(-500)}`)));
  });
  const browser = await chromium.connectOverCDP(endpoint, { noDefaults: true });
  return {
    browser,
    context: browser.contexts()[0]!,
    async close() {
      await browser.close().catch(() => {});
      proc.kill();
      await new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once('exit', r)));
      await rm(profile, { recursive: true, force: true });
    },
  };
}
