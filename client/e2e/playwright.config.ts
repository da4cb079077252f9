// End-to-end tests in Debian's headless Chromium (browsers cannot be downloaded here, so
// Playwright is pointed at /usr/bin/chromium), against a local Javumbo that server.ts starts.

import { defineConfig } from '@playwright/test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  outputDir: join(tmpdir(), 'javumbo-e2e-results'),
  globalSetup: './server.ts',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  reporter: [['list']],
  use: {
    baseURL: process.env.JAVUMBO_E2E_URL,
    browserName: 'chromium',
    // A phone-sized screen: the flows must work there.
    viewport: { width: 390, height: 844 },
    hasTouch: false,
    acceptDownloads: true,
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      // Playwright gives every launch a fresh temporary profile (--user-data-dir) itself.
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
