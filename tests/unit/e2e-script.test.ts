/**
 * scripts/e2e.mjs decides whether the end-to-end run counts: these run it for real (a child
 * process in a directory of its own) in the cases where nothing can run.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const SCRIPT = fileURLToPath(new URL('../../scripts/e2e.mjs', import.meta.url))
const dirs: string[] = []
afterAll(() => dirs.forEach(d => rmSync(d, { recursive: true, force: true })))

/** Runs the script in a fresh directory, with or without one spec file, and a clean environment. */
function e2e(env: Record<string, string>, withSpec: boolean) {
  const cwd = mkdtempSync(join(tmpdir(), 'np-e2e-script-'))
  dirs.push(cwd)
  if (withSpec) {
    mkdirSync(join(cwd, 'tests/e2e'), { recursive: true })
    writeFileSync(join(cwd, 'tests/e2e/x.spec.ts'), '')
  }
  const { REQUIRE_E2E: _, E2E_SKIPPED_EXIT: __, ...rest } = process.env
  const r = spawnSync(process.execPath, [SCRIPT], { cwd, env: { ...rest, ...env }, encoding: 'utf8', timeout: 20_000 })
  return { code: r.status, out: `${r.stdout}${r.stderr}` }
}

describe('scripts/e2e.mjs when nothing can run', () => {
  it('without Chromium: a skip that says so, never a pass; a failure with REQUIRE_E2E=1', () => {
    const skipped = e2e({ CHROMIUM_PATH: '/nonexistent/chromium' }, true)
    expect(skipped).toMatchObject({ code: 0 })
    expect(skipped.out).toContain('e2e skipped: no Chromium at /nonexistent/chromium')
    expect(skipped.out).not.toMatch(/passed/)
    expect(e2e({ CHROMIUM_PATH: '/nonexistent/chromium', E2E_SKIPPED_EXIT: '77' }, true).code).toBe(77)
    const required = e2e({ CHROMIUM_PATH: '/nonexistent/chromium', REQUIRE_E2E: '1' }, true)
    expect(required.code).toBe(1)
    expect(required.out).toContain('e2e failed: no Chromium')
  })

  it('without spec files: skipped, and a failure with REQUIRE_E2E=1', () => {
    const chromium = process.execPath // any executable stands in: the script stops before launching it
    expect(e2e({ CHROMIUM_PATH: chromium, E2E_SKIPPED_EXIT: '77' }, false)).toMatchObject({ code: 77, out: expect.stringContaining('no spec files') })
    const required = e2e({ CHROMIUM_PATH: chromium, REQUIRE_E2E: '1' }, false)
    expect(required.code).toBe(1)
    expect(required.out).toContain('e2e failed: no spec files in tests/e2e and REQUIRE_E2E=1')
  })
})
