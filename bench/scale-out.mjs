#!/usr/bin/env node
// Scale-out: three built instances on one PostgreSQL database. The same agents and the same load
// generator as bench/ingest.mjs post to one instance, then spread over all three; prints the
// aggregate reports/s of each, and how long a report taken by instance A takes to reach a
// subscriber of C's reports channel (/stream/reports): C's message arrival minus A's received_at.
// With `--baseline DIR` (another build's directory, holding .output) it measures that build first,
// then this one, in the same run, each on a fresh database. While three instances take reports it
// samples how many of the database's sessions wait on an advisory lock (the journal's, before issue 13).
// With `--trace`, this build's instances write the journal's trace (NODEPULSE_JOURNAL_TRACE) and the
// bench splits each A → C report's way: A's write (received_at to its commit), C's wait (A's commit
// to C's announcement, by what started the catch-up that announced it), C's hub to the subscriber.
// Usage: npm run build && node bench/scale-out.mjs --postgres postgres://postgres@127.0.0.1:5432/postgres
//        [--agents 150] [--seconds 10] [--warmup 3] [--clients 3] [--baseline /tmp/scale-base] [--trace]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { adminToken, createAgents, freshDatabase, percentile, startServer, wallNow } from './lib.mjs'
import { formatRow, runLoad, TABLE_HEAD } from './load.mjs'

const { values } = parseArgs({ options: {
  agents: { type: 'string', default: '150' }, seconds: { type: 'string', default: '10' }, warmup: { type: 'string', default: '3' },
  clients: { type: 'string', default: '3' }, postgres: { type: 'string' }, baseline: { type: 'string' }, trace: { type: 'boolean', default: false },
} })
if (!values.postgres) throw new Error('--postgres URL is needed')
const AGENTS = Number(values.agents)

/** Posts one report of `agent` to `base` until it is answered 200 (the instance has loaded the node). */
async function waitUntilKnown(base, agent) {
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${base}/api/v1/nodes/${agent.id}/stats`, { method: 'POST', headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ cpu_percent: 1, disk_percent: 1 }) })
    await res.arrayBuffer()
    if (res.ok) return
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`${base} does not know node ${agent.id}`)
}

/**
 * Subscribes to `base`'s reports channel; for each report of a node in `from`, records arrival
 * (this machine's wall clock) minus the report's received_at (the clock of the instance that took it).
 */
async function subscribeReports(base, bearer, from) {
  const controller = new AbortController()
  const res = await fetch(`${base}/stream/reports`, { headers: { authorization: `Bearer ${bearer}`, accept: 'text/event-stream' }, signal: controller.signal })
  const delays = []
  /** Report id → arrival, for the trace. */
  const arrivals = new Map()
  let counting = false
  const reading = (async () => {
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of res.body) {
        const arrived = wallNow()
        buffer += decoder.decode(chunk, { stream: true })
        const blocks = buffer.split('\n\n')
        buffer = blocks.pop()
        if (!counting) continue
        for (const block of blocks) {
          if (!block.includes('event: reports')) continue
          const report = JSON.parse(block.slice(block.indexOf('data: ') + 6))
          if (!from.has(report.node_id)) continue
          delays.push(arrived - Date.parse(report.received_at))
          arrivals.set(report.id, arrived)
        }
      }
    }
    catch {
      // aborted at the end
    }
  })()
  return {
    count: () => {
      counting = true
    },
    async stop() {
      controller.abort()
      await reading
      return delays.sort((a, b) => a - b)
    },
    arrivals,
  }
}

/**
 * Samples, every 50 ms, the sessions of `url`'s database waiting on an advisory lock, and how long
 * the oldest journal writer's transaction has run (a holder of the journal lock before issue 13, of
 * a writer's floor after it): what holds other writers back before, and the final position after.
 */
function sampleLockWaits(url) {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  const counts = []
  const notifyWaits = []
  const writers = []
  let running = true
  const sampling = (async () => {
    while (running) {
      // A committing NOTIFY holds a database-wide object lock from queueing its message to the end of its commit (WAL flush included).
      const [row] = await sql`select count(*) filter (where wait_event_type = 'Lock' and wait_event = 'advisory')::int as n,
          count(*) filter (where wait_event_type = 'Lock' and wait_event = 'object')::int as notify,
          coalesce(extract(epoch from max(clock_timestamp() - xact_start) filter (where pid in (select pid from pg_locks where locktype = 'advisory' and granted
            and ((classid::bigint >> 16) = 29456 or (classid = 0 and objid = 7310002))))), 0)::float8 * 1000 as writer_ms
        from pg_stat_activity where datname = current_database()`
      counts.push(row.n)
      notifyWaits.push(row.notify)
      writers.push(row.writer_ms)
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  })()
  return {
    async stop() {
      running = false
      await sampling
      await sql.end()
      const mean = counts.reduce((a, b) => a + b, 0) / Math.max(1, counts.length)
      writers.sort((a, b) => a - b)
      const notifyMean = notifyWaits.reduce((a, b) => a + b, 0) / Math.max(1, notifyWaits.length)
      return { mean, share: counts.filter(n => n > 0).length / Math.max(1, counts.length), samples: counts.length, notifyMean, notifyShare: notifyWaits.filter(n => n > 0).length / Math.max(1, notifyWaits.length), writerP50: percentile(writers, 50), writerP99: percentile(writers, 99) }
    },
  }
}

const readTrace = file => readFileSync(file, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line))
const spread = list => `p50 ${percentile(list, 50).toFixed(1)}, p90 ${percentile(list, 90).toFixed(1)}, p99 ${percentile(list, 99).toFixed(1)} ms`
const sorted = list => [...list].sort((a, b) => a - b)

/**
 * Splits the way of each report A took (and the subscriber on C received) into A's write, C's wait
 * and C's delivery, from A's and C's journal traces; and times C's catch-ups.
 */
function analyseTrace(traceA, traceC, arrivals) {
  const commitA = new Map()
  for (const r of traceA) {
    if (r.k !== 'w') continue
    for (let id = r.first; id <= r.last; id++) commitA.set(id, r)
  }
  const announceC = new Map()
  for (const r of traceC) {
    if (r.k !== 'a') continue
    for (let id = r.first; id <= r.last; id++) announceC.set(id, r)
  }
  const originA = traceA[0]?.o
  const notifies = traceC.filter(r => r.k === 'n' && r.from === originA).map(r => r.t)
  const write = []
  const wait = []
  const hub = []
  const notify = []
  const via = {}
  for (const [id, arrived] of arrivals) {
    const w = commitA.get(id)
    const a = announceC.get(id)
    if (!w || !a) continue
    write.push(w.t - w.r)
    wait.push(a.t - w.t)
    hub.push(arrived - a.t)
    via[a.via] = (via[a.via] ?? 0) + 1
    const n = notifies.find(t => t >= w.t - 50)
    if (n !== undefined) notify.push(n - w.t)
  }
  const from = Math.min(...[...arrivals.values()])
  const catchUps = traceC.filter(r => r.k === 'c' && r.t0 >= from)
  console.log(`  trace: ${write.length} of ${arrivals.size} reports matched; A's write (received_at → A's commit seen by A): ${spread(sorted(write))}`)
  console.log(`  trace: A's commit → C announces: ${spread(sorted(wait))}; announced by ${Object.entries(via).map(([k, n]) => `${k} ${n}`).join(', ')}`)
  console.log(`  trace: A's commit → C receives A's NOTIFY (next one after it): ${spread(sorted(notify))}`)
  console.log(`  trace: C announces → subscriber receives: ${spread(sorted(hub))}`)
  console.log(`  trace: C's catch-up steps: ${catchUps.length} (${catchUps.filter(r => r.waiting).length} left entries waiting); bounds query ${spread(sorted(catchUps.map(r => r.tb - r.t0)))}; reads ${spread(sorted(catchUps.map(r => r.tr - r.tb)))}${catchUps.some(r => r.tw !== undefined) ? `; then the waiting query ${spread(sorted(catchUps.filter(r => r.tw > r.tr + 0.01 || r.waiting).map(r => r.tw - r.tr)))}` : ''}`)
}

/** One build on a fresh database: one instance's rate, three instances' rate, A → C latency and lock waits. */
async function measure(label, output, trace = false) {
  const database = await freshDatabase(values.postgres, 'np_bench_scaleout')
  const env = { DATABASE_URL: database.url }
  const instances = []
  const traceDir = trace ? mkdtempSync(join(tmpdir(), 'np-scale-trace-')) : null
  try {
    // One at a time: the first migrates the database, the others find it ready.
    for (let i = 0; i < 3; i++) instances.push(await startServer(traceDir ? { ...env, NODEPULSE_JOURNAL_TRACE: join(traceDir, `${i}.jsonl`) } : env, { output }))
    const [a, , c] = instances
    const bearer = await adminToken(a.base)
    const agents = await createAgents(a.base, bearer, AGENTS, 'scale')
    for (const s of instances) await waitUntilKnown(s.base, agents.at(-1))
    const port = s => Number(new URL(s.base).port)
    const watch = { servers: instances.map(s => s.pid), postgres: database.backendPids }
    const load = { body: 'single', clients: Number(values.clients), warmup: Number(values.warmup), seconds: Number(values.seconds), watch }

    const one = await runLoad({ ...load, agents: agents.map(g => ({ ...g, port: port(a) })) })
    console.log(formatRow(`${label}: one instance (A)`, AGENTS, one))

    const spread = agents.map((g, i) => ({ ...g, port: port(instances[i % 3]) }))
    const fromA = new Set(spread.filter(g => g.port === port(a)).map(g => g.id))
    const subscriber = await subscribeReports(c.base, bearer, fromA)
    setTimeout(subscriber.count, (Number(values.warmup) + 0.3) * 1000)
    const waits = sampleLockWaits(database.url)
    const three = await runLoad({ ...load, agents: spread })
    const lock = await waits.stop()
    const delays = await subscriber.stop()
    console.log(formatRow(`${label}: three instances (A, B, C)`, AGENTS, three))
    console.log(`${label}: aggregate three/one ${(three.reports / one.reports).toFixed(2)}`)
    console.log(`${label}: A → subscriber on C: ${delays.length} reports, p50 ${percentile(delays, 50).toFixed(1)} ms, p99 ${percentile(delays, 99).toFixed(1)} ms (C's arrival − A's received_at)`)
    console.log(`${label}: sessions waiting on an advisory lock while three instances ran: mean ${lock.mean.toFixed(2)}, in ${(lock.share * 100).toFixed(0)} % of ${lock.samples} samples; oldest journal writer's transaction p50 ${lock.writerP50.toFixed(1)} ms, p99 ${lock.writerP99.toFixed(1)} ms; waiting on NOTIFY's commit lock: mean ${lock.notifyMean.toFixed(2)}, in ${(lock.notifyShare * 100).toFixed(0)} % of samples`)
    if (traceDir) {
      // The trace is appended every 500 ms: let the last lines land.
      await new Promise(resolve => setTimeout(resolve, 1200))
      analyseTrace(readTrace(join(traceDir, '0.jsonl')), readTrace(join(traceDir, '2.jsonl')), subscriber.arrivals)
    }
  }
  finally {
    for (const s of instances) await s.stop()
    await database.drop()
    if (traceDir) rmSync(traceDir, { recursive: true, force: true })
  }
}

console.log(`scale-out: ${AGENTS} agents, single-sample reports, ${values.clients} generator processes, ${values.warmup} s warm-up + ${values.seconds} s measured per row`)
console.log(TABLE_HEAD('reports/s'))
if (values.baseline) await measure('baseline', join(values.baseline, '.output'))
await measure(values.baseline ? 'this build' : 'NodePulse', '.output', values.trace)
