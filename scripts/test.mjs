#!/usr/bin/env node
/**
 * `npm test`: builds the app once (always, so the tests test the current code), runs every
 * vitest project (unit, integration on PGlite, and on Postgres when TEST_DATABASE_URL is set),
 * then the Playwright end-to-end tests (scripts/e2e.mjs). Exits non-zero if any part fails.
 */
import { spawnSync } from 'node:child_process'

const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx'

function run(label, args, env = {}) {
  const started = Date.now()
  console.log(`\n▶ ${label}: ${args.join(' ')}`)
  const result = spawnSync(args[0], args.slice(1), { stdio: 'inherit', env: { ...process.env, ...env } })
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  const code = result.status ?? 1
  if (result.error) console.error(result.error.message)
  console.log(`${code === 0 ? '✔' : '✘'} ${label} ${code === 0 ? 'passed' : `failed (exit ${code})`} in ${seconds} s`)
  return { label, code, seconds }
}

const results = []
const build = run('build', [npx, 'nuxi', 'build'])
results.push(build)
if (build.code === 0) {
  if (!process.env.TEST_DATABASE_URL) console.log('\n(TEST_DATABASE_URL is not set: the integration suite runs on PGlite only)')
  results.push(run('vitest', [npx, 'vitest', 'run']))
  results.push(run('e2e', [process.execPath, 'scripts/e2e.mjs'], { NODEPULSE_TEST_BUILT: '1' }))
}

console.log('\nSummary:')
for (const r of results) console.log(`  ${r.code === 0 ? '✔' : '✘'} ${r.label.padEnd(8)} ${r.seconds} s`)
process.exit(results.every(r => r.code === 0) ? 0 : 1)
