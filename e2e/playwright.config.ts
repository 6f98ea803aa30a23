/**
 * End-to-end runs in Debian's Chromium against the real service, once per
 * storage backend (projects "local" and "s3"). The fixtures start the service
 * (and the loopback S3 server) themselves; global-setup builds the pages.
 */
import { defineConfig } from '@playwright/test';
import type { ServiceFixtureOptions } from './fixtures/service.ts';

export default defineConfig<ServiceFixtureOptions>({
  testDir: './specs',
  globalSetup: './global-setup.ts',
  outputDir: './test-results',
  // Two cores: one browser at a time records at full frame rate.
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  // A hang's limit, not a measure of speed: a spec that records, stops and plays takes minutes on a loaded machine
  // (60 s ran out at a load average of 15-29). Speed is measured by the benchmarks.
  timeout: 120_000,
  expect: { timeout: 15_000 },
  reporter: process.env.CI ? [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]] : [['list']],
  use: {
    viewport: { width: 1440, height: 900 },
    acceptDownloads: true,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
        '--autoplay-policy=no-user-gesture-required',
      ],
    },
  },
  projects: [
    { name: 'local', use: { backend: 'local' } },
    { name: 's3', use: { backend: 's3' } },
  ],
});
