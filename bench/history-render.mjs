#!/usr/bin/env node
/**
 * History charts in Chromium (issue 12): the built server on a fresh PostgreSQL database of its own
 * (dropped at the end), or with --pglite on the embedded database in a temporary directory (the
 * server is stopped while the bench writes into it and started again), with --nodes nodes whose
 * history is written straight into the rollup tiers,
 * as the leader leaves them (31 days of 1-hour buckets and the last 26 hours of 1-minute buckets,
 * every metric: the tiers the two views read; nothing waits for real time). Then, in Debian's Chromium at 1440×900, --runs times each:
 *
 * (a) the node modal: from the dashboard, a client-side navigation to `/?node=ID&range=30d` (what a
 *     card or a Compare link does) until all six charts hold their points and the next frame is
 *     painted; the history request's share is reported beside it;
 * (b) the fleet chart: a client-side navigation from the dashboard to `/compare?top=all&label=bench:render` (every
 *     node × cpu × 24 h, one line each) until the chart holds --nodes lines and is painted; and the
 *     default view (`/compare?label=bench:render`, top 10 drawn of the same answer);
 * (c) redrawing the fleet chart without a fetch: "Lines: Top 10 → Every node".
 *
 *   npm run build && node bench/history-render.mjs [--nodes 100] [--runs 10] [--postgres postgres://postgres@127.0.0.1:5432/postgres | --pglite]
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { adminToken, openLoggedIn, percentile, rollupRowsSql, startServer, transpileTs } from './lib.mjs'

const { values: opts } = parseArgs({ options: {
  nodes: { type: 'string', default: '100' },
  runs: { type: 'string', default: '10' },
  postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
  pglite: { type: 'boolean', default: false },
} })
const PGLITE = opts.pglite
const NODES = Number(opts.nodes)
const RUNS = Number(opts.runs)
const DAY = 86_400

const root = fileURLToPath(new URL('..', import.meta.url))
const modules = mkdtempSync(join(root, 'node_modules', '.cache', 'history-render-bench-'))
const { HISTORY_METRICS } = await import(await transpileTs(join(root, 'shared/contracts/history.ts'), modules))
rmSync(modules, { recursive: true, force: true })

/**
 * Where the history goes: a fresh PostgreSQL database of the bench's own, or the embedded one's
 * directory. `write` runs statements on it: for PGlite with the server stopped (one process at a time).
 */
async function openStore() {
  if (PGLITE) {
    const dataDir = mkdtempSync(join(tmpdir(), 'nodepulse-bench-render-'))
    return {
      label: 'PGlite', env: {}, dataDir,
      async write(statements) {
        const { PGlite } = await import('@electric-sql/pglite')
        const db = await PGlite.create(dataDir)
        try {
          for (const q of statements) await db.exec(q)
          return (await db.query('select count(*)::int as rows from history_rollups')).rows[0].rows
        }
        finally {
          await db.close()
        }
      },
      async drop() {
        rmSync(dataDir, { recursive: true, force: true })
      },
    }
  }
  const name = `np_bench_render_${randomBytes(4).toString('hex')}`
  const admin = postgres(opts.postgres, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  const url = new URL(opts.postgres)
  url.pathname = `/${name}`
  const db = postgres(url.toString(), { max: 1, onnotice: () => {} })
  return {
    label: 'PostgreSQL', env: { DATABASE_URL: url.toString() }, dataDir: undefined,
    async write(statements) {
      for (const q of statements) await db.unsafe(q)
      return (await db.unsafe('select count(*)::int as rows from history_rollups'))[0].rows
    },
    async drop() {
      await db.end({ timeout: 5 })
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end({ timeout: 5 })
    },
  }
}
const store = await openStore()

// Runs in the page: a client-side navigation, then waits until `ready()` holds and the next frame is painted.
function instrument() {
  const painted = () => new Promise((resolve) => {
    requestAnimationFrame(() => {
      const ch = new MessageChannel()
      ch.port1.onmessage = resolve
      ch.port2.postMessage(0)
    })
  })
  // Polled every frame; a minute without it is a failure that names what was awaited.
  const until = (ready, what) => new Promise((resolve, reject) => {
    const start = performance.now()
    const check = () => {
      if (ready()) resolve()
      else if (performance.now() - start > 60_000) reject(new Error(`${what} not ready after 60 s at ${location.href}: ${[...document.querySelectorAll('[data-testid^="history-chart-"], [data-testid="compare-chart"], [role="alert"], [data-testid="history-range"]')].map(e => `${e.dataset.testid} ${e.dataset.points ?? ''} ${e.textContent.slice(0, 120)}`).join(' | ')}`))
      else requestAnimationFrame(check)
    }
    check()
  })
  const lastRequest = part => performance.getEntriesByType('resource').filter(e => e.name.includes(part)).at(-1)
  window.__bench = {
    /** Navigates to `path` and resolves with the ms until `selector`'s elements satisfy `ready` and are painted, and the timing of the last request to `api`. */
    async visit(path, kind, api) {
      performance.clearResourceTimings()
      const router = document.querySelector('#__nuxt').__vue_app__.config.globalProperties.$router
      const t0 = performance.now()
      await router.push(path)
      await until(() => window.__bench.ready[kind](), kind)
      await painted()
      const total = performance.now() - t0
      const r = lastRequest(api)
      return { total, request: r ? r.responseEnd - r.startTime : NaN, afterResponse: r ? total - (r.responseEnd - t0) : NaN, bytes: r?.decodedBodySize ?? 0 }
    },
    /** Changes a <select> the way v-model hears it and resolves with the ms until `kind` is ready and painted. */
    async change(testid, value, kind) {
      const el = document.querySelector(`[data-testid="${testid}"]`)
      const t0 = performance.now()
      el.value = value
      el.dispatchEvent(new Event('change', { bubbles: true }))
      await until(() => window.__bench.ready[kind](), kind)
      await painted()
      return { total: performance.now() - t0 }
    },
    ready: {
      modal: () => {
        const charts = [...document.querySelectorAll('[data-testid^="history-chart-"]')]
        return charts.length === 6 && charts.every(c => Number(c.dataset.points) > 0 && c.querySelector('canvas'))
      },
      fleet: () => {
        const chart = document.querySelector('[data-testid="compare-chart"]')
        return !!chart?.querySelector('canvas') && document.querySelector('[data-testid="compare"]')?.dataset.loading === 'false'
          && Number(chart.dataset.lines) === window.__bench.lines
      },
      dashboard: () => !!document.querySelector('[data-testid="node-card"]') && !document.querySelector('[data-testid="node-detail"]'),
    },
    lines: 0,
  }
}

const server = await startServer(store.env, { dataDir: store.dataDir })
let browser
try {
  const token = await adminToken(server.base)
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const ids = []
  let created = 0
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (created < NODES) {
      const i = created++
      const res = await fetch(`${server.base}/api/v1/nodes`, { method: 'POST', headers: auth, body: JSON.stringify({ hostname: `bench-${String(i).padStart(3, '0')}`, labels: { bench: 'render' } }) })
      if (res.status !== 201) throw new Error(`creating node ${i}: HTTP ${res.status}`)
      ids[i] = (await res.json()).id
    }
  }))

  const now = Math.floor(Date.now() / 1000)
  const nodes = `unnest('{${ids.join(',')}}'::int[])`
  const statements = []
  const minuteFrom = Math.floor((now - 26 * 3600) / 60) * 60
  for (let t = minuteFrom; t < now; t += 6 * 3600) {
    statements.push(rollupRowsSql({ metrics: HISTORY_METRICS, width: 60, from: t, to: Math.min(now, t + 6 * 3600), nodes, samplesPerBucket: 12 }))
  }
  const hourFrom = Math.floor((now - 31 * DAY) / 3600) * 3600
  statements.push(rollupRowsSql({ metrics: HISTORY_METRICS, width: 3600, from: hourFrom, to: now, nodes, samplesPerBucket: 720 }))
  statements.push('analyze history_rollups')
  // The embedded database has one process: the server steps aside while the bench writes.
  if (PGLITE) await server.stop()
  const t0 = performance.now()
  const rows = await store.write(statements)
  console.log(`history written: ${rows.toLocaleString()} rollup rows (${NODES} nodes × 26 h of 1 min + 31 d of 1 h buckets) in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  if (PGLITE) await server.start()

  const chrome = await openLoggedIn(server.base, { width: 1440, height: 900 }, instrument)
  browser = chrome.browser
  const { page, consoleLines } = chrome
  await page.goto('/')
  await page.getByTestId('node-card').first().waitFor({ timeout: 60_000 })

  const runs = { modal: [], fleetAll: [], fleetTop: [], redraw: [] }
  const back = () => page.evaluate(() => window.__bench.visit('/', 'dashboard', '/api/v1/nodes?'))
  console.log('measuring (a) the modal…')
  await page.evaluate(id => window.__bench.visit(`/?node=${id}&range=30d`, 'modal', `/nodes/${id}/history`), ids[0]) // warm-up: chunks loaded
  await back()
  for (let i = 0; i < RUNS; i++) {
    const id = ids[i % ids.length]
    runs.modal.push(await page.evaluate(id => window.__bench.visit(`/?node=${id}&range=30d`, 'modal', `/nodes/${id}/history`), id))
    await back()
  }
  console.log('measuring (b) and (c) the fleet chart…')
  await page.evaluate(n => (window.__bench.lines = n), NODES)
  await page.evaluate(() => window.__bench.visit('/compare?top=all&label=bench:render', 'fleet', '/api/v1/history'))
  await back()
  for (let i = 0; i < RUNS; i++) {
    await page.evaluate(n => (window.__bench.lines = n), NODES)
    runs.fleetAll.push(await page.evaluate(() => window.__bench.visit('/compare?top=all&label=bench:render', 'fleet', '/api/v1/history')))
    await page.evaluate(n => (window.__bench.lines = Math.min(10, n)), NODES)
    await page.evaluate(() => window.__bench.change('compare-top', '10', 'fleet'))
    await page.evaluate(n => (window.__bench.lines = n), NODES)
    runs.redraw.push(await page.evaluate(() => window.__bench.change('compare-top', 'all', 'fleet')))
    await back()
    await page.evaluate(n => (window.__bench.lines = Math.min(10, n)), NODES)
    runs.fleetTop.push(await page.evaluate(() => window.__bench.visit('/compare?label=bench:render', 'fleet', '/api/v1/history')))
    await back()
  }

  const ms = v => `${v.toFixed(0)} ms`
  const stat = (list, key) => {
    const sorted = list.map(r => r[key]).sort((a, b) => a - b)
    return `median ${ms(percentile(sorted, 50))}, p95 ${ms(percentile(sorted, 95))}`
  }
  const kib = list => `${(list[0].bytes / 1024).toFixed(0)} KiB`
  console.log(`history charts in Chromium ${browser.version()}, 1440×900, ${store.label}, ${NODES} nodes, ${RUNS} runs each`)
  console.log(`  (a) modal, 30 d of one node, 6 charts (${kib(runs.modal)} JSON)`)
  console.log(`      open → drawn      ${stat(runs.modal, 'total')}`)
  console.log(`      history request   ${stat(runs.modal, 'request')}`)
  console.log(`      response → drawn  ${stat(runs.modal, 'afterResponse')}`)
  console.log(`  (b) /compare, ${NODES} nodes × cpu × 24 h, every node drawn (${kib(runs.fleetAll)} JSON)`)
  console.log(`      open → drawn      ${stat(runs.fleetAll, 'total')}`)
  console.log(`      fleet request     ${stat(runs.fleetAll, 'request')}`)
  console.log(`      response → drawn  ${stat(runs.fleetAll, 'afterResponse')}`)
  console.log(`      default (top 10)  open → drawn ${stat(runs.fleetTop, 'total')}; response → drawn ${stat(runs.fleetTop, 'afterResponse')}`)
  console.log(`  (c) top 10 → all ${NODES} lines, no fetch: ${stat(runs.redraw, 'total')}`)
  console.log(`  browser console     ${consoleLines.length} errors/warnings${consoleLines.length ? ':' : ''}`)
  for (const line of consoleLines.slice(0, 10)) console.log(`    ${line.slice(0, 200)}`)
}
finally {
  await browser?.close()
  await server.stop()
  await store.drop()
}
