import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineConfig } from '@playwright/test'
import { SERVER_ENV, SERVER_NODE_ARGS } from './scripts/server-settings.mjs'

/** Admin credentials the e2e server starts with (tests log in with these). */
export const E2E_ADMIN = { username: 'admin', password: 'e2e-admin-password' }
/**
 * The e2e server's NODEPULSE_STALE_AFTER in seconds. 8 s lets the dashboard spec watch a node turn
 * stale; the Nodes page refreshes every 5 s, so a shorter one could turn a node stale before that
 * page shows it online.
 */
export const E2E_STALE_AFTER_S = Number(process.env.E2E_STALE_AFTER || 8)
const port = Number(process.env.E2E_PORT ?? 3199)
const dataDir = process.env.E2E_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'nodepulse-e2e-'))

/**
 * Playwright starts the webServer with the shell's environment plus `env`: every setting a
 * developer's shell could leak into the server under test is blanked here (an empty value reads
 * as unset), as the integration servers drop them (tests/integration/support/server.ts).
 */
const LEAKY = /^(NODEPULSE_|NUXT_|NITRO_|VALKEY_)|^(DATABASE_URL|PORT|HOST)$/
const blanked = Object.fromEntries(Object.keys(process.env).filter(k => LEAKY.test(k)).map(k => [k, '']))

export default defineConfig({
  testDir: 'tests/e2e',
  // A committed `.only` would silently skip the rest of the suite.
  forbidOnly: true,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
    permissions: ['clipboard-read', 'clipboard-write'],
  },
  // The built server on a fresh embedded database: `npm test` builds once before this runs.
  webServer: {
    // As `npm start` runs it (scripts/server-settings.mjs).
    command: ['node', ...SERVER_NODE_ARGS, '.output/server/index.mjs'].join(' '),
    url: `http://127.0.0.1:${port}/api/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    env: {
      ...blanked,
      ...SERVER_ENV,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      NODEPULSE_DATA_DIR: dataDir,
      NODEPULSE_ADMIN_USER: E2E_ADMIN.username,
      NODEPULSE_ADMIN_PASSWORD: E2E_ADMIN.password,
      NODEPULSE_SAMPLE_INTERVAL: '1',
      NODEPULSE_STALE_AFTER: String(E2E_STALE_AFTER_S),
    },
  },
})
