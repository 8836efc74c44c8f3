#!/usr/bin/env node
// The dashboard page in Chromium while N nodes (default 1,000) report: frame rate and gaps, long tasks, the main
// thread's cost per snapshot, JS heap, DOM size and server load; then a typed search, a sort change, and the node
// picker opened and typed into.
// The page follows the dashboard's delta stream: one snapshot, then per 5 s tick only the nodes that changed.
// `--changing 0.1` makes only that share of the nodes report each period (all report once first; nobody turns
// stale meanwhile), which is what the delta's bytes are judged at; `--postgres URL` runs the server on PostgreSQL.
// Usage: npm run build && node bench/dashboard-render.mjs [--nodes 1000] [--seconds 30] [--report-every 5] [--changing 1] [--postgres URL]
import { parseArgs } from 'node:util'
import { adminToken, openLoggedIn, percentile, procStats, startServer } from './lib.mjs'

const { values } = parseArgs({ options: {
  nodes: { type: 'string', default: '1000' }, seconds: { type: 'string', default: '30' }, 'report-every': { type: 'string', default: '5' },
  changing: { type: 'string', default: '1' }, postgres: { type: 'string' },
} })
const CHANGING = Number(values.changing)
const NODES = Number(values.nodes)
const SECONDS = Number(values.seconds)
const REPORT_EVERY = Number(values['report-every'])
const MAX_IN_FLIGHT = 32
const sleep = ms => new Promise(r => setTimeout(r, ms))

// Runs in the page before its own scripts. Snapshot cost: `js` = onmessage (JSON.parse, ref write) plus Vue's
// update, which flushes in a microtask queued before ours; `painted` = until the task after the next frame's
// rAF, i.e. style, layout and paint of that frame included (and any wait for it).
function instrument() {
  const m = window.__bench = { on: false, frames: [], longTasks: [], snapshots: [] }
  const frame = (t) => {
    if (m.on) m.frames.push(t)
    requestAnimationFrame(frame)
  }
  requestAnimationFrame(frame)
  new PerformanceObserver((list) => {
    if (m.on) for (const e of list.getEntries()) m.longTasks.push(e.duration)
  }).observe({ type: 'longtask' })
  m.time = (act, done) => {
    const t0 = performance.now()
    const r = { js: 0, painted: 0 }
    act()
    queueMicrotask(() => { r.js = performance.now() - t0 })
    requestAnimationFrame(() => {
      const ch = new MessageChannel()
      ch.port1.onmessage = () => done({ ...r, painted: performance.now() - t0 })
      ch.port2.postMessage(0)
    })
  }
  const add = EventSource.prototype.addEventListener
  EventSource.prototype.addEventListener = function (type, fn, opts) {
    const timed = (type === 'snapshot' || type === 'delta') && this.url.includes('/nodes/stats/delta')
      ? e => m.time(() => fn.call(this, e), r => m.on && m.snapshots.push({ ...r, type, bytes: e.data.length }))
      : fn
    return add.call(this, type, timed, opts)
  }
  // One dashboard control changed the way v-model hears it; resolves with the timing and the count shown after.
  m.change = (testid, value) => new Promise((resolve) => {
    const el = document.querySelector(`[data-testid="${testid}"]`)
    m.time(() => {
      el.value = value
      el.dispatchEvent(new Event(el.tagName === 'SELECT' ? 'change' : 'input', { bubbles: true }))
    }, r => resolve({ ...r, shown: document.querySelector('[data-testid="dash-count"]').textContent.trim() }))
  })
  // The node picker (a combobox): opened by a click (`text` null), then typed into; shown = the choices it lists.
  m.pick = text => new Promise((resolve) => {
    const el = document.querySelector('[data-testid="dash-scope"]')
    m.time(() => {
      if (text === null) {
        el.focus()
        return el.click()
      }
      el.value = text
      el.dispatchEvent(new Event('input', { bubbles: true }))
    }, r => resolve({ ...r, shown: `${document.querySelectorAll('[role="option"]').length} choices` }))
  })
}

// With --changing below 1 most nodes go quiet after their first report: they must stay online meanwhile.
const server = await startServer({
  ...(values.postgres ? { DATABASE_URL: values.postgres } : {}),
  ...(CHANGING < 1 ? { NODEPULSE_UNREACHABLE_AFTER: '3600', NODEPULSE_STALE_AFTER: '7200' } : {}),
})
let reporter
let inFlight = 0
let browser
try {
  const token = await adminToken(server.base)
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const agents = []
  let created = 0
  const creating = Date.now()
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (created < NODES) {
      const i = created++
      const res = await fetch(`${server.base}/api/v1/nodes`, { method: 'POST', headers: auth, body: JSON.stringify({ hostname: `bench-${i}` }) })
      if (res.status !== 201) throw new Error(`creating node ${i}: HTTP ${res.status}`)
      const node = await res.json()
      agents[i] = { id: node.id, token: node.token, cpu: Math.random() * 100, mem: 30 + Math.random() * 40, disk: 20 + Math.random() * 60 }
    }
  }))
  console.log(`created ${NODES} nodes in ${((Date.now() - creating) / 1000).toFixed(1)} s`)

  // Every node reports once per REPORT_EVERY s on an even schedule; past MAX_IN_FLIGHT the due reports wait.
  let sent = 0
  let accepted = 0
  let failed = 0
  const reportStart = Date.now()
  const drift = v => Math.min(100, Math.max(0, v + (Math.random() - 0.5) * 10))
  // Every node once in the first period, then CHANGING × NODES a period, taking turns.
  const perPeriod = Math.max(1, Math.round(NODES * CHANGING))
  reporter = setInterval(() => {
    const t = (Date.now() - reportStart) / (REPORT_EVERY * 1000)
    const due = t < 1 ? Math.floor(t * NODES) : NODES + Math.floor((t - 1) * perPeriod)
    for (; sent < due && inFlight < MAX_IN_FLIGHT; sent++) {
      const a = agents[sent % NODES]
      a.cpu = drift(a.cpu)
      a.mem = drift(a.mem)
      a.disk = drift(a.disk)
      inFlight++
      fetch(`${server.base}/api/v1/nodes/${a.id}/stats`, {
        method: 'POST', headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' },
        // active_backups stays fixed per node: a change is a backup event, and a toast in the browser.
        body: JSON.stringify({ cpu_percent: a.cpu, memory_percent: a.mem, disk_percent: a.disk, uptime_seconds: Math.floor(process.uptime()) + 3600, active_backups: a.id % 50 === 0 ? 1 : 0 }),
      }).then(async (r) => {
        await r.arrayBuffer()
        if (r.ok) accepted++
        else failed++
      }).catch(() => failed++).finally(() => inFlight--)
    }
  }, 20)
  await sleep(REPORT_EVERY * 1000 + 1000) // every node online before the page opens, so no status-change burst

  const chrome = await openLoggedIn(server.base, { width: 1280, height: 800 }, instrument)
  browser = chrome.browser
  const { page, consoleLines } = chrome
  const opened = Date.now()
  await page.goto('/')
  await page.getByTestId('summary-total').filter({ hasText: new RegExp(`^\\s*${NODES + 1}\\s*$`) }).waitFor({ timeout: 60_000 })
  await page.getByTestId('node-card').first().waitFor()
  const firstRender = Date.now() - opened
  await sleep(REPORT_EVERY * 1000)

  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Performance.enable')
  const sample = async () => {
    await cdp.send('HeapProfiler.collectGarbage')
    const { metrics } = await cdp.send('Performance.getMetrics')
    const m = Object.fromEntries(metrics.map(x => [x.name, x.value]))
    return { ...m, dom: await page.evaluate(() => document.getElementsByTagName('*').length), server: procStats(server.pid) }
  }
  const before = await sample()
  const sentBefore = accepted
  await page.evaluate(() => { window.__bench.on = true })
  const start = Date.now()
  await sleep(SECONDS * 1000)
  await page.evaluate(() => { window.__bench.on = false })
  const elapsed = (Date.now() - start) / 1000
  const after = await sample()
  const acceptedInWindow = accepted - sentBefore
  const bench = await page.evaluate(() => ({ frames: window.__bench.frames, longTasks: window.__bench.longTasks, snapshots: window.__bench.snapshots }))
  // What one message of seed 000's unified stream (the full snapshot every tick) weighs now, for comparison.
  const fullBytes = await page.evaluate(() => new Promise((resolve) => {
    const source = new EventSource('/api/v1/metrics/nodes/stats/stream?interval=5')
    source.onmessage = (e) => {
      if (e.data.includes('"nodes"')) {
        source.close()
        resolve(e.data.length)
      }
    }
  }))

  // Typed one key at a time as a person would (~150 ms apart), then the search cleared, then the sort.
  const steps = []
  for (let i = 1; i <= 'bench-42'.length; i++) {
    steps.push({ step: `search "${'bench-42'.slice(0, i)}"`, ...await page.evaluate(v => window.__bench.change('dash-search', v), 'bench-42'.slice(0, i)) })
    await sleep(150)
  }
  await sleep(500)
  steps.push({ step: 'search cleared', ...await page.evaluate(() => window.__bench.change('dash-search', '')) })
  await sleep(500)
  steps.push({ step: 'sort: cpu', ...await page.evaluate(() => window.__bench.change('dash-sort', 'cpu')) })
  await sleep(500)
  // The node picker, where the page has one (before it, a <select> of every node).
  if (await page.locator('input[data-testid="dash-scope"]').count()) {
    steps.push({ step: 'picker opened', ...await page.evaluate(() => window.__bench.pick(null)) })
    for (let i = 1; i <= 'bench-42'.length; i++) {
      await sleep(150)
      steps.push({ step: `picker "${'bench-42'.slice(0, i)}"`, ...await page.evaluate(v => window.__bench.pick(v), 'bench-42'.slice(0, i)) })
    }
    await page.keyboard.press('Escape')
  }

  const gaps = bench.frames.slice(1).map((t, i) => t - bench.frames[i]).sort((a, b) => a - b)
  const snaps = bench.snapshots
  const js = snaps.map(s => s.js).sort((a, b) => a - b)
  const painted = snaps.map(s => s.painted).sort((a, b) => a - b)
  const ms = v => `${v.toFixed(1)} ms`
  const mib = v => `${(v / 2 ** 20).toFixed(1)} MiB`
  const delta = k => after[k] - before[k]
  console.log(`dashboard render: ${NODES} nodes (+ master) on ${values.postgres ? 'PostgreSQL' : 'PGlite'}, ${(CHANGING * 100).toFixed(0)} % of them reporting every ${REPORT_EVERY}s, stream interval 5s (fixed, DASHBOARD_INTERVAL), Chromium ${browser.version()}, 1280x800, ${elapsed.toFixed(1)}s measured`)
  console.log(`  first render        ${firstRender} ms from goto to ${NODES + 1} nodes counted and a card shown`)
  console.log(`  frames              ${bench.frames.length} (${(bench.frames.length / elapsed).toFixed(1)} fps), gap p50 ${ms(percentile(gaps, 50))}, p99 ${ms(percentile(gaps, 99))}, max ${ms(gaps.at(-1) ?? NaN)}`)
  console.log(`  long tasks          ${bench.longTasks.length}, total ${ms(bench.longTasks.reduce((a, b) => a + b, 0))}, longest ${ms(Math.max(0, ...bench.longTasks))}`)
  const deltaBytes = snaps.filter(x => x.type === 'delta').map(x => x.bytes)
  const avgDelta = deltaBytes.reduce((a, b) => a + b, 0) / Math.max(1, deltaBytes.length)
  console.log(`  messages            ${snaps.length} of ~${Math.floor(elapsed / 5)} ticks (${deltaBytes.length} deltas), ${(avgDelta / 1024).toFixed(1)} KiB per delta on average`)
  console.log(`  bytes per tick      ${(avgDelta / 1024).toFixed(1)} KiB delta against ${(fullBytes / 1024).toFixed(1)} KiB for the full snapshot (seed 000's unified stream): ${((avgDelta / fullBytes) * 100).toFixed(1)} %, with ${(CHANGING * 100).toFixed(0)} % of the nodes reporting each ${REPORT_EVERY} s`)
  console.log(`  message JS          p50 ${ms(percentile(js, 50))}, max ${ms(js.at(-1) ?? NaN)} (onmessage + Vue update)`)
  console.log(`  message to paint    p50 ${ms(percentile(painted, 50))}, max ${ms(painted.at(-1) ?? NaN)} (to the end of the next frame)`)
  console.log(`  main thread busy    ${((delta('TaskDuration') / elapsed) * 100).toFixed(1)} % (script ${delta('ScriptDuration').toFixed(2)} s, style ${delta('RecalcStyleDuration').toFixed(2)} s, layout ${delta('LayoutDuration').toFixed(2)} s)`)
  console.log(`  JS heap after GC    ${mib(before.JSHeapUsedSize)} -> ${mib(after.JSHeapUsedSize)}`)
  console.log(`  DOM elements        ${before.dom} -> ${after.dom}`)
  console.log(`  server RSS          ${before.server.rss.toFixed(0)} MiB -> ${after.server.rss.toFixed(0)} MiB`)
  console.log(`  server CPU          ${(((after.server.cpuSeconds - before.server.cpuSeconds) / elapsed) * 100).toFixed(1)} % of one core`)
  console.log(`  reports accepted    ${acceptedInWindow} in the window (${(acceptedInWindow / elapsed).toFixed(0)}/s, target ${((NODES * CHANGING) / REPORT_EVERY).toFixed(0)}/s); ${failed} failed overall`)
  console.log('  input to grid       step: JS / painted -> shown')
  for (const s of steps) console.log(`    ${s.step.padEnd(20)}${ms(s.js).padStart(9)} /${ms(s.painted).padStart(9)}  -> ${s.shown}`)
  console.log(`  browser console     ${consoleLines.length} errors/warnings${consoleLines.length ? ':' : ''}`)
  for (const line of consoleLines.slice(0, 10)) console.log(`    ${line.slice(0, 200)}`)
}
finally {
  clearInterval(reporter)
  await browser?.close()
  while (inFlight > 0) await sleep(50)
  await server.stop()
}
