#!/usr/bin/env node
/**
 * Playwright end-to-end tests in Debian's Chromium (CHROMIUM_PATH or /usr/bin/chromium).
 * Without a Chromium, or with no spec files in tests/e2e, they are skipped with a line saying
 * why, unless REQUIRE_E2E=1 (CI), which makes either a failure. A skip exits 0, or
 * E2E_SKIPPED_EXIT when that is set (scripts/test.mjs sets it, so its summary says "skipped",
 * never "passed"). Builds the app first unless scripts/test.mjs just did.
 */
import { spawnSync } from 'node:child_process'
import { accessSync, constants, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx'
const required = process.env.REQUIRE_E2E === '1'
const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
const skippedExit = Number(process.env.E2E_SKIPPED_EXIT || 0)

/** Nothing ran: a failure when REQUIRE_E2E=1, else a skip that says so. */
function skip(why, fix) {
  if (required) {
    console.error(`e2e failed: ${why} and REQUIRE_E2E=1; ${fix}`)
    process.exit(1)
  }
  console.log(`e2e skipped: ${why}; ${fix}`)
  process.exit(skippedExit)
}

function executable(path) {
  try {
    accessSync(path, constants.X_OK)
    return true
  }
  catch {
    return false
  }
}

/** Spec files as Playwright's default testMatch finds them. */
function specs(dir) {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter(e => e.isFile() && /\.(spec|test)\.[cm]?[jt]sx?$/.test(e.name))
    .map(e => join(e.parentPath ?? e.path, e.name))
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.on('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
}

if (!executable(chromium)) skip(`no Chromium at ${chromium}`, 'install it with: apt-get install -y chromium (or set CHROMIUM_PATH)')

const found = specs('tests/e2e')
if (found.length === 0) skip('no spec files in tests/e2e', 'nothing to run')

if (process.env.NODEPULSE_TEST_BUILT !== '1') {
  const build = spawnSync(npx, ['nuxi', 'build'], { stdio: 'inherit' })
  if (build.status !== 0) process.exit(build.status ?? 1)
}

// The server's stale threshold (E2E_STALE_AFTER, 8 s unless set) is defaulted in playwright.config.ts,
// so a plain `npx playwright test` runs with the same settings.
// One data directory for the run's server, made and removed here (playwright.config.ts would
// otherwise make one each time a process imports it).
const dataDir = process.env.E2E_DATA_DIR ? undefined : mkdtempSync(join(tmpdir(), 'nodepulse-e2e-'))
const env = { ...process.env, CHROMIUM_PATH: chromium, E2E_PORT: process.env.E2E_PORT || String(await freePort()), E2E_DATA_DIR: process.env.E2E_DATA_DIR || dataDir }
console.log(`e2e: ${found.length} spec file(s) in Chromium ${chromium}, server on port ${env.E2E_PORT}`)
const result = spawnSync(npx, ['playwright', 'test', ...process.argv.slice(2)], { stdio: 'inherit', env })
if (result.error) console.error(result.error.message)
if (dataDir) rmSync(dataDir, { recursive: true, force: true })
process.exit(result.status ?? 1)
