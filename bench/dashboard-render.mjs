#!/usr/bin/env node
// The dashboard page in Chromium while N nodes (default 1,000) report: frame rate and gaps, long tasks, the main
// thread's cost per snapshot, JS heap, DOM size and server load; then a typed search, a sort change, and the node
// picker opened and typed into.
// The page follows the dashboard's delta stream: one snapshot, then per 5 s tick only the nodes that changed.
// `--changing 0.1` makes only that share of the nodes report each period (all report once first; nobody turns
// stale meanwhile), which is what the delta's bytes are judged at; `--postgres URL` runs the server on PostgreSQL.
// `--before-build DIR` (another build's .output, e.g. of the commit before a change) measures the page of that build
// and then of this one, on the same nodes, database and reports: the server is restarted on each build in turn
// (after a period to settle), so before and after share the minute's load. Each measurement first prints where the
// open went (the page's resources, session check, stream, first snapshot and first card, in ms from navigation);
// `--profile DIR` also writes a Chromium trace and a JS CPU profile of the open there, and prints the main thread's
// busy time by kind and the functions that took most of it.
// Usage: npm run build && node bench/dashboard-render.mjs [--nodes 1000] [--seconds 30] [--report-every 5] [--changing 1] [--postgres URL]
//        [--before-build /tmp/before/.output] [--profile /tmp/dash-profile]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { adminToken, openLoggedIn, percentile, procStats, startServer } from './lib.mjs'

const { values } = parseArgs({ options: {
  nodes: { type: 'string', default: '1000' }, seconds: { type: 'string', default: '30' }, 'report-every': { type: 'string', default: '5' },
  changing: { type: 'string', default: '1' }, postgres: { type: 'string' }, 'before-build': { type: 'string' }, profile: { type: 'string' },
} })
const BUILDS = values['before-build'] ? [['before', values['before-build']], ['after', '.output']] : [['', '.output']]
const PROFILE = values.profile
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
  const m = window.__bench = { on: false, frames: [], longTasks: [], snapshots: [], open: { stream: null, came: null, snapshot: null, card: null } }
  // The open: when the dashboard's stream was asked for, its first snapshot came and was handled, the first card was in a frame.
  const Source = window.EventSource
  window.EventSource = class extends Source {
    constructor(url, init) {
      super(url, init)
      if (String(url).includes('/nodes/stats/delta')) m.open.stream ??= performance.now()
    }
  }
  const firstCard = () => {
    if (document.querySelector('[data-testid="node-card"]')) m.open.card = performance.now()
    else requestAnimationFrame(firstCard)
  }
  requestAnimationFrame(firstCard)
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
  const remove = EventSource.prototype.removeEventListener
  const timedFns = new WeakMap()
  EventSource.prototype.addEventListener = function (type, fn, opts) {
    if (!((type === 'snapshot' || type === 'delta') && this.url.includes('/nodes/stats/delta'))) return add.call(this, type, fn, opts)
    // The page's inline script keeps the stream's first messages for the app (utils/earlyStream.ts): only their arrival counts.
    const early = fn === window.__nodepulseEarly?.keep
    const timed = (e) => {
      const at = performance.now()
      if (type === 'snapshot') m.open.came ??= at
      if (early) return fn.call(this, e)
      m.time(() => fn.call(this, e), (r) => {
        if (m.on) m.snapshots.push({ ...r, type, bytes: e.data.length })
        if (type === 'snapshot' && !m.open.snapshot) m.open.snapshot = { at, ...r, bytes: e.data.length }
      })
    }
    if (!timedFns.has(fn)) timedFns.set(fn, new Map())
    timedFns.get(fn).set(type, timed)
    return add.call(this, type, timed, opts)
  }
  EventSource.prototype.removeEventListener = function (type, fn, opts) {
    return remove.call(this, type, timedFns.get(fn)?.get(type) ?? fn, opts)
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
const SERVER_SETTINGS = {
  ...(values.postgres ? { DATABASE_URL: values.postgres } : {}),
  ...(CHANGING < 1 ? { NODEPULSE_UNREACHABLE_AFTER: '3600', NODEPULSE_STALE_AFTER: '7200' } : {}),
}
// The embedded database outlives a restart on another build in a directory of its own.
const dataDir = values.postgres ? undefined : mkdtempSync(join(tmpdir(), 'nodepulse-dash-bench-'))
let server = await startServer(SERVER_SETTINGS, { dataDir })
let reporter
let inFlight = 0
let browser
const ms = v => `${v.toFixed(1)} ms`
const mib = v => `${(v / 2 ** 20).toFixed(1)} MiB`
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

  for (const [label, output] of BUILDS) {
    // Each build's page is measured on a server of its own build, started on the same data; a period
    // to settle after the start (the restart's catch-up) before the page opens.
    if (BUILDS.length > 1) {
      await server.stop()
      server = await startServer(SERVER_SETTINGS, { dataDir, output })
      await sleep(REPORT_EVERY * 1000)
    }
    console.log(`\n== ${label ? `${label}: ` : ''}${output}, ${new Date().toISOString().slice(11, 19)} UTC, load average ${loadavg().map(x => x.toFixed(2)).join(' ')}`)
    await measure(label, () => ({ accepted, failed }))
  }
}
finally {
  clearInterval(reporter)
  await browser?.close()
  while (inFlight > 0) await sleep(50)
  await server.stop()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
}

/** Main-thread time of a Chromium trace by kind (top-level tasks, and the named steps inside them), in ms. */
function traceSummary(events) {
  const main = events.find(e => e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
  const own = events.filter(e => main && e.pid === main.pid && e.tid === main.tid && e.ph === 'X' && e.dur)
  const sum = name => own.filter(e => e.name === name).reduce((a, e) => a + e.dur / 1000, 0)
  const kinds = ['RunTask', 'ParseHTML', 'EvaluateScript', 'v8.compileModule', 'v8.evaluateModule', 'v8.compile', 'FunctionCall', 'EventDispatch', 'TimerFire', 'FireAnimationFrame', 'RunMicrotasks', 'ParseAuthorStyleSheet', 'UpdateLayoutTree', 'Layout', 'PrePaint', 'Paint', 'Layerize', 'MajorGC', 'MinorGC', 'V8.GC_SCAVENGER', 'V8.GC_MARK_COMPACTOR']
  return kinds.map(k => [k, sum(k)]).filter(([, v]) => v > 0)
}

/** The functions with the most self time in a V8 CPU profile: [name (file:line), ms]. */
function profileTop(profile, count) {
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const self = new Map()
  profile.samples.forEach((id, i) => {
    const { functionName, url, lineNumber } = byId.get(id).callFrame
    const key = `${functionName || '(anonymous)'} ${url ? `${url.split('/').pop()}:${lineNumber + 1}` : ''}`.trim()
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000)
  })
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, count)
}

async function measure(label, counts) {
  const chrome = await openLoggedIn(server.base, { width: 1280, height: 800 }, instrument)
  browser = chrome.browser
  const { page, consoleLines } = chrome
  const cdp = await page.context().newCDPSession(page)
  // With --profile: a Chromium trace and a JS CPU profile of one phase (the open, the measured window).
  const startProfile = async (phase) => {
    if (!PROFILE) return
    mkdirSync(PROFILE, { recursive: true })
    await browser.startTracing(page, { path: join(PROFILE, `${label || 'page'}-${phase}.trace.json`), categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'v8.execute', 'blink.user_timing'] })
    await cdp.send('Profiler.enable')
    await cdp.send('Profiler.setSamplingInterval', { interval: 250 })
    await cdp.send('Profiler.start')
  }
  const stopProfile = async (phase) => {
    if (!PROFILE) return
    const { profile } = await cdp.send('Profiler.stop')
    writeFileSync(join(PROFILE, `${label || 'page'}-${phase}.cpuprofile`), JSON.stringify(profile))
    const trace = JSON.parse((await browser.stopTracing()).toString())
    const events = trace.traceEvents ?? trace
    console.log(`  ${phase}, main thread ${traceSummary(events).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')} (ms; steps nest inside RunTask)`)
    console.log(`  ${phase}, JS self   ${profileTop(profile, 14).map(([k, v]) => `${k} ${v.toFixed(0)}`).join('; ')}`)
  }
  await startProfile('open')
  const opened = Date.now()
  await page.goto('/')
  await page.getByTestId('summary-total').filter({ hasText: new RegExp(`^\\s*${NODES + 1}\\s*$`) }).waitFor({ timeout: 60_000 })
  await page.getByTestId('node-card').first().waitFor()
  const firstRender = Date.now() - opened
  // Where the open went, in ms from navigation start.
  const open = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0]
    const res = performance.getEntriesByType('resource')
    const js = res.filter(r => /\.js(\?|$)/.test(r.name))
    const api = path => res.find(r => new URL(r.name).pathname === path)
    const span = r => (r ? [r.startTime, r.responseEnd, r.encodedBodySize] : null)
    return {
      html: [nav.responseStart, nav.responseEnd], domContentLoaded: nav.domContentLoadedEventEnd,
      js: { count: js.length, lastEnd: Math.max(0, ...js.map(r => r.responseEnd)), bytes: js.reduce((a, r) => a + r.encodedBodySize, 0), slowest: Math.max(0, ...js.map(r => r.duration)) },
      css: res.filter(r => /\.css(\?|$)/.test(r.name)).length,
      session: span(api('/api/v1/auth/session')), list: span(api('/api/v1/nodes')),
      ...window.__bench.open,
    }
  })
  const f = v => (v === null || v === undefined ? '—' : v.toFixed(0))
  await stopProfile('open')
  await sleep(REPORT_EVERY * 1000)

  await cdp.send('Performance.enable')
  const sample = async () => {
    await cdp.send('HeapProfiler.collectGarbage')
    const { metrics } = await cdp.send('Performance.getMetrics')
    const m = Object.fromEntries(metrics.map(x => [x.name, x.value]))
    return { ...m, dom: await page.evaluate(() => document.getElementsByTagName('*').length), server: procStats(server.pid) }
  }
  const before = await sample()
  const sentBefore = counts().accepted
  await startProfile('window')
  await page.evaluate(() => { window.__bench.on = true })
  const start = Date.now()
  await sleep(SECONDS * 1000)
  await page.evaluate(() => { window.__bench.on = false })
  const elapsed = (Date.now() - start) / 1000
  await stopProfile('window')
  const after = await sample()
  const acceptedInWindow = counts().accepted - sentBefore
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
  const delta = k => after[k] - before[k]
  console.log(`dashboard render: ${NODES} nodes (+ master) on ${values.postgres ? 'PostgreSQL' : 'PGlite'}, ${(CHANGING * 100).toFixed(0)} % of them reporting every ${REPORT_EVERY}s, stream interval 5s (fixed, DASHBOARD_INTERVAL), Chromium ${browser.version()}, 1280x800, ${elapsed.toFixed(1)}s measured`)
  console.log(`  first render        ${firstRender} ms from goto to ${NODES + 1} nodes counted and a card shown`)
  console.log(`  open (ms from nav)  HTML ${f(open.html[0])}–${f(open.html[1])}; ${open.js.count} scripts (${(open.js.bytes / 1024).toFixed(0)} KiB sent, slowest ${f(open.js.slowest)}) done at ${f(open.js.lastEnd)}; DOMContentLoaded ${f(open.domContentLoaded)}; session check ${open.session ? `${f(open.session[0])}–${f(open.session[1])}` : '—'}; stream asked ${f(open.stream)}; snapshot came ${f(open.came)}${open.snapshot ? ` (${(open.snapshot.bytes / 1024).toFixed(0)} KiB), handled in ${f(open.snapshot.js)} JS, painted ${f(open.snapshot.painted)} after` : ' (kept by the inline script for the app)'}; first card in a frame ${f(open.card)}; REST list ${open.list ? `${f(open.list[0])}–${f(open.list[1])} (${(open.list[2] / 1024).toFixed(0)} KiB)` : '—'}`)
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
  console.log(`  reports accepted    ${acceptedInWindow} in the window (${(acceptedInWindow / elapsed).toFixed(0)}/s, target ${((NODES * CHANGING) / REPORT_EVERY).toFixed(0)}/s); ${counts().failed} failed overall`)
  console.log('  input to grid       step: JS / painted -> shown')
  for (const s of steps) console.log(`    ${s.step.padEnd(20)}${ms(s.js).padStart(9)} /${ms(s.painted).padStart(9)}  -> ${s.shown}`)
  console.log(`  browser console     ${consoleLines.length} errors/warnings${consoleLines.length ? ':' : ''}`)
  for (const line of consoleLines.slice(0, 10)) console.log(`    ${line.slice(0, 200)}`)
  await browser.close()
  browser = undefined
}
