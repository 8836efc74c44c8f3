#!/usr/bin/env node
/**
 * History storage and queries (issue 12), in-process against PGlite (files in a temp dir) and the
 * machine's Postgres (a database of its own, dropped at the end):
 *
 * 1. registers --nodes nodes and writes --raw-hours of raw samples at --interval s for the first
 *    --raw-nodes of them directly as rows (one INSERT … SELECT over generate_series per 5 minutes
 *    of data, full host detail in each);
 * 2. rolls them up with the leader's rollup (server/services/history), as after an outage, and
 *    reports the cost per hour of data (scaled linearly to --nodes); then the steady state: the
 *    leader's 15 s run after 15 s of samples from all --nodes;
 * 3. writes the older part of a 30-day history straight into the tiers (1 h buckets for 30 days,
 *    15 min buckets for --quarter-days days), as the rollups would have left it;
 * 4. times the queries: one node × 30 days × 5 metrics (300 points; --runs runs over random nodes),
 *    and all nodes × cpu × 24 h (the fleet query, --fleet-runs runs, with all figures and with `figures=avg`), both through the services the routes call,
 *    JSON encoding included;
 * 5. times the same queries with the leader at work, as a real server has them (--leader-seconds
 *    per round, 0 to skip): a sample from every node every 5 s and the leader's rollup every 15 s,
 *    a one-node query started every 250 ms and the fleet query every 10 s meanwhile (on time, not
 *    waiting for the ones before);
 * 6. reports the database size and the bytes per row of raw samples and rollups, and from them
 *    the size 30 days at the default tiers would take (raw 48 h, 1 min 14 d, 15 min 90 d, 1 h 2 y).
 *
 *   node bench/history.mjs [--driver pglite,postgres] [--nodes 1000] [--raw-nodes 100] [--raw-hours 1] [--interval 5]
 *                          [--quarter-days 2] [--runs 50] [--fleet-runs 10] [--leader-seconds 60]
 *                          [--postgres postgres://postgres@127.0.0.1:5432/postgres] [--before REF]
 *
 * --before REF also times the queries and the rollup of server/services/history/{query,rollup}.ts as
 * they were at the git revision REF, on the same database, alternating with the current ones
 * (before/after in one run).
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import postgres from 'postgres'
import { sql } from 'drizzle-orm'
import { percentile, rollupRowsSql, transpileTs, wave } from './lib.mjs'

const { values: opts } = parseArgs({
  options: {
    'driver': { type: 'string', default: 'pglite,postgres' },
    'nodes': { type: 'string', default: '1000' },
    'raw-nodes': { type: 'string', default: '100' },
    'raw-hours': { type: 'string', default: '1' },
    'interval': { type: 'string', default: '5' },
    'quarter-days': { type: 'string', default: '2' },
    'runs': { type: 'string', default: '50' },
    'fleet-runs': { type: 'string', default: '10' },
    'leader-seconds': { type: 'string', default: '60' },
    'postgres': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    'before': { type: 'string' },
  },
})
const NODES = Number(opts.nodes)
const RAW_NODES = Math.min(NODES, Number(opts['raw-nodes']))
const RAW_HOURS = Number(opts['raw-hours'])
const INTERVAL = Number(opts.interval)
const QUARTER_DAYS = Number(opts['quarter-days'])
const RUNS = Number(opts.runs)
const FLEET_RUNS = Number(opts['fleet-runs'])
const LEADER_SECONDS = Number(opts['leader-seconds'])
const HOUR = 3600
const DAY = 86_400

const root = fileURLToPath(new URL('..', import.meta.url))
const tmp = mkdtempSync(join(tmpdir(), 'nodepulse-history-bench-'))
// Transpiled inside the tree, so the modules find the project's packages (removed at the end, also on Ctrl-C).
const modules = mkdtempSync(join(root, 'node_modules', '.cache', 'history-bench-'))
const cleanUp = () => {
  rmSync(tmp, { recursive: true, force: true })
  rmSync(modules, { recursive: true, force: true })
}
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => {
  cleanUp()
  process.exit(130)
})
const load = async file => import(await transpileTs(join(root, file), modules))
const { openDatabase } = await load('server/db/index.ts')
const { readMigrations } = await load('server/db/migrate.ts')
const { createRegistry } = await load('server/services/registry.ts')
const { createHistory } = await load('server/services/history/index.ts')
const { parseHistoryTiers, DEFAULT_HISTORY_TIERS } = await load('server/services/history/tiers.ts')
const { HISTORY_METRICS } = await load('shared/contracts/history.ts')
const { createHistoryRollup } = await load('server/services/history/rollup.ts')
// A history module at --before, bundled from git's copy as if it stood in its place in the tree.
const atBefore = async (name) => {
  const dir = join(root, 'server/services/history')
  const contents = execFileSync('git', ['show', `${opts.before}:server/services/history/${name}.ts`], { cwd: root, encoding: 'utf8' })
  const { build } = await import('esbuild')
  const outfile = join(modules, `${name}-before.mjs`)
  await build({ stdin: { contents, resolveDir: dir, loader: 'ts', sourcefile: `${name}-before.ts` }, outfile, bundle: true, packages: 'external', platform: 'node', format: 'esm', target: 'node20', tsconfigRaw: {}, logLevel: 'warning' })
  return import(outfile)
}
const before = opts.before && {
  createHistoryQueries: (await atBefore('query')).createHistoryQueries,
  createHistoryRollup: (await atBefore('rollup')).createHistoryRollup,
}
const migrations = await readMigrations(async name => readFileSync(join(root, 'drizzle', name), 'utf8'))
const tiers = parseHistoryTiers(DEFAULT_HISTORY_TIERS)

const rowsOf = r => (Array.isArray(r) ? r : r.rows)
/** An answer as the route sends it: objects, or JSON text should a service hand that over. */
const asJson = res => (typeof res === 'string' ? res : JSON.stringify(res))
const ms = t => `${t.toFixed(1)} ms`
const mb = b => `${(b / 1024 / 1024).toFixed(1)} MiB`
const gb = b => `${(b / 1024 ** 3).toFixed(1)} GiB`
const since = t => performance.now() - t
const sleep = t => new Promise(resolve => setTimeout(resolve, t))
const summary = list => {
  const sorted = [...list].sort((a, b) => a - b)
  return `median ${ms(percentile(sorted, 50))}, p95 ${ms(percentile(sorted, 95))}, max ${ms(sorted.at(-1) ?? NaN)} over ${sorted.length} runs`
}

async function writeRaw(db, firstNode, start) {
  const steps = Math.round(RAW_HOURS * HOUR / INTERVAL)
  const chunk = Math.max(1, Math.round(300 / INTERVAL))
  const t0 = performance.now()
  for (let from = 0; from < steps; from += chunk) {
    const to = Math.min(steps, from + chunk) - 1
    await db.execute(sql.raw(`insert into node_samples (node_id, ts, cpu_percent, memory_percent, disk_percent, uptime_seconds, active_backups, detail)
      select n, to_timestamp(${start} + i * ${INTERVAL}), ${wave(100, 1)}, ${wave(100, 2)}, ${wave(100, 3)}, 100000 + i * ${INTERVAL}, 0,
        jsonb_build_object(
          'load', jsonb_build_object('1m', ${wave(4, 4)}, '5m', ${wave(4, 5)}, '15m', ${wave(4, 6)}),
          'memory', jsonb_build_object('total_bytes', 16000000000, 'used_bytes', round(${wave(16e9, 2)}), 'swap_total_bytes', 2000000000, 'swap_used_bytes', round(${wave(2e8, 7)})),
          'disk', jsonb_build_object('mount', '/', 'fs', '/dev/sda1', 'size_bytes', 500000000000, 'used_bytes', round(${wave(5e11, 3)}), 'percent', ${wave(100, 3)}),
          'network', jsonb_build_array(jsonb_build_object('iface', 'eth0', 'rx_bytes_per_sec', ${wave(1e7, 8)}, 'tx_bytes_per_sec', ${wave(1e6, 9)})),
          'disk_io', jsonb_build_object('read_bytes_per_sec', ${wave(5e7, 10)}, 'write_bytes_per_sec', ${wave(5e7, 11)}),
          'temperatures', jsonb_build_array(jsonb_build_object('label', 'cpu', 'celsius', 40 + ${wave(40, 12)})),
          'processes', 300)
      from generate_series(${from}, ${to}) i, generate_series(${firstNode}, ${firstNode + RAW_NODES - 1}) n
      order by i, n`))
  }
  return { rows: steps * RAW_NODES, ms: since(t0) }
}

/** Rollup rows of `width` for [from, to) of every node, with every metric's columns filled. */
async function writeTier(db, firstNode, width, from, to) {
  const t0 = performance.now()
  const perChunk = Math.max(width, Math.floor(100_000 / NODES) * width)
  for (let t = from; t < to; t += perChunk) {
    await db.execute(sql.raw(rollupRowsSql({
      metrics: HISTORY_METRICS, width, from: t, to: Math.min(to, t + perChunk),
      nodes: `generate_series(${firstNode}, ${firstNode + NODES - 1})`, samplesPerBucket: width / INTERVAL,
    })))
  }
  return { rows: Math.round((to - from) / width) * NODES, ms: since(t0) }
}

async function sizes(db) {
  const [r] = rowsOf(await db.execute(sql`select pg_database_size(current_database()) as db,
    pg_total_relation_size('node_samples') as raw, (select count(*) from node_samples) as raw_rows,
    pg_total_relation_size('history_rollups') as rollups, (select count(*) from history_rollups) as rollup_rows`))
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)]))
}

/**
 * One round of LEADER_SECONDS with the leader at work: a sample from every node every 5 s (one
 * statement, small detail, as in the steady state above) and the rollup `q.rollup` every 15 s, while
 * a one-node query starts every 250 ms and the fleet query (all figures) every 10 s, each on time
 * whether the ones before have answered or not, as requests reach a server. On PGlite every statement
 * waits for an open transaction, so these are the times a real server's readers see.
 */
async function withLeader(db, firstNode, q, into) {
  const start = performance.now()
  let stop = false
  const leader = (async () => {
    for (let k = 1; !stop; k++) {
      await db.execute(sql.raw(`insert into node_samples (node_id, ts, cpu_percent, memory_percent, disk_percent, detail)
        select n, now(), 50, 50, 50, '{"load":{"1m":1,"5m":1,"15m":1},"network":[{"iface":"eth0","rx_bytes_per_sec":1,"tx_bytes_per_sec":1}]}'::jsonb
        from generate_series(${firstNode}, ${firstNode + NODES - 1}) n`))
      if (k % 3 === 0) {
        const t = performance.now()
        await q.rollup()
        into.rollup.push(since(t))
      }
      await sleep(Math.max(0, start + k * 5000 - performance.now()))
    }
  })()
  const now = Date.now() / 1000
  const timed = async (list, ask) => {
    const t = performance.now()
    asJson(await ask())
    list.push(since(t))
  }
  const readers = []
  for (let k = 0; k * 250 < LEADER_SECONDS * 1000; k++) {
    await sleep(Math.max(0, start + k * 250 - performance.now()))
    const id = firstNode + Math.floor(Math.random() * NODES)
    readers.push(timed(into.node, () => q.node(id, { metrics: ['cpu_percent', 'memory_percent', 'disk_percent', 'load1', 'net_rx_bytes_per_sec'], from: new Date((now - 30 * DAY) * 1000), to: new Date(now * 1000), points: 300 })))
    if (k % 40 === 10) readers.push(timed(into.fleet, () => q.fleet({ metric: 'cpu_percent', from: new Date((now - DAY) * 1000), to: new Date(now * 1000), points: 300, figures: ['avg', 'min', 'max'] })))
  }
  await Promise.all(readers)
  stop = true
  await leader
}

async function bench(label, handle) {
  const { db } = handle
  console.log(`\n== ${label}: ${NODES} nodes (${RAW_NODES} with ${RAW_HOURS} h of raw samples every ${INTERVAL} s) ==`)
  const [first] = rowsOf(await db.execute(sql.raw(`insert into nodes (hostname, kind, labels, watched_status)
    select 'bench-' || g, 'agent', '{}'::jsonb, 'online' from generate_series(1, ${NODES}) g returning id`)))
  const firstNode = Number(first.id)
  const registry = createRegistry(db)
  await registry.load()
  // The batch size runtime.ts gives each driver.
  const history = createHistory(db, registry, { tiers, eventRetentionDays: 7, batchRows: handle.driver === 'pglite' ? 5000 : 50_000 })

  const now = Math.floor(Date.now() / 1000)
  const rawStart = Math.floor((now - RAW_HOURS * HOUR) / HOUR) * HOUR
  const w = await writeRaw(db, firstNode, rawStart)
  console.log(`raw rows written: ${w.rows.toLocaleString()} in ${(w.ms / 1000).toFixed(1)} s`)
  // What autovacuum (Postgres) or the hourly housekeeping (PGlite) would have done by now.
  await db.execute(sql`analyze`)

  const t0 = performance.now()
  let run = { samples: 0, caughtUp: false }
  let total = 0
  while (!run.caughtUp) {
    run = await history.rollup(3_600_000)
    total += run.samples
  }
  const rollupMs = since(t0)
  const perHour = rollupMs / RAW_HOURS * NODES / RAW_NODES
  console.log(`catch-up rollup of ${total.toLocaleString()} samples into 1m/15m/1h: ${(rollupMs / 1000).toFixed(1)} s`
    + ` (${Math.round(total / rollupMs * 1000).toLocaleString()} samples/s) = ${(perHour / 1000).toFixed(1)} s per hour of data of ${NODES} nodes`)
  const afterRollup = await sizes(db)

  // Steady state: the leader's run every 15 s after 15 s of new samples (3 per node), the current buckets recomputed.
  const steady = []
  for (let k = 0; k < 5; k++) {
    const t = rawStart + RAW_HOURS * HOUR + k * 15
    await db.execute(sql.raw(`insert into node_samples (node_id, ts, cpu_percent, memory_percent, disk_percent, detail)
      select n, to_timestamp(${t} + s * 5), 50, 50, 50, '{"load":{"1m":1,"5m":1,"15m":1},"network":[{"iface":"eth0","rx_bytes_per_sec":1,"tx_bytes_per_sec":1}]}'::jsonb
      from generate_series(0, 2) s, generate_series(${firstNode}, ${firstNode + NODES - 1}) n order by s, n`))
    const t1 = performance.now()
    await history.rollup()
    steady.push(since(t1))
  }
  steady.sort((a, b) => a - b)
  const run15 = percentile(steady, 50)
  console.log(`steady state, one 15 s run (${(3 * NODES).toLocaleString()} new samples): median ${ms(run15)}, max ${ms(steady.at(-1))}`
    + ` = ${((run15 * 240) / 1000).toFixed(0)} s of rollup work per hour of data (${(run15 / 150).toFixed(1)} % of the leader's time)`)

  const hourTier = await writeTier(db, firstNode, 3600, rawStart - 30 * DAY, rawStart)
  const quarterTier = await writeTier(db, firstNode, 900, rawStart - QUARTER_DAYS * DAY, rawStart)
  console.log(`older tiers written directly: ${hourTier.rows.toLocaleString()} 1h rows (30 d), ${quarterTier.rows.toLocaleString()} 15m rows (${QUARTER_DAYS} d)`)
  await db.execute(sql`analyze`)

  const five = ['cpu_percent', 'memory_percent', 'disk_percent', 'load1', 'net_rx_bytes_per_sec']
  const batchRows = handle.driver === 'pglite' ? 5000 : 50_000
  const variants = [['now', { node: history.nodeHistory, fleet: history.fleetHistory, rollup: createHistoryRollup(db, tiers, { batchRows }).run }]]
  if (before) {
    const queries = before.createHistoryQueries(db, registry, tiers)
    variants.push([`at ${opts.before}`, { node: queries.node, fleet: queries.fleet, rollup: before.createHistoryRollup(db, tiers, { batchRows }).run }])
  }
  const times = new Map(variants.map(([name]) => [name, { node: [] }]))
  let tierUsed = ''
  for (let i = 0; i < RUNS + 3; i++) {
    for (const [name, q] of i % 2 ? [...variants].reverse() : variants) {
      // A node of its own for each: one read just before would have left its rows in the buffer cache.
      const id = firstNode + Math.floor(Math.random() * NODES)
      const t = performance.now()
      const res = await q.node(id, { metrics: five, from: new Date((now - 30 * DAY) * 1000), to: new Date(now * 1000), points: 300 })
      JSON.stringify(res)
      if (i >= 3) times.get(name).node.push(since(t))
      tierUsed = `${res.tier.name}, step ${res.step_seconds} s, ${res.series[0].buckets.length} buckets`
    }
  }
  // The fleet query as the API answers it by default (avg, min and max per bucket), and as the
  // compare page asks for it (`figures=avg`); the revision of --before knows only the first.
  const fleetAsks = [['', ['avg', 'min', 'max']], [', figures=avg', ['avg']]]
  const fleetTimes = new Map()
  const fleetFirst = new Map()
  for (let i = 0; i < FLEET_RUNS + 1; i++) {
    for (const [name, q] of i % 2 ? [...variants].reverse() : variants) {
      for (const [ask, figures] of name === 'now' ? fleetAsks : fleetAsks.slice(0, 1)) {
        const key = `${name}${ask}`
        const t = performance.now()
        const text = asJson(await q.fleet({ metric: 'cpu_percent', from: new Date((now - DAY) * 1000), to: new Date(now * 1000), points: 300, figures }))
        const elapsed = since(t)
        const entry = fleetTimes.get(key) ?? { runs: [] }
        fleetTimes.set(key, entry)
        if (i >= 1) entry.runs.push(elapsed)
        if (!entry.info) {
          const res = JSON.parse(text)
          entry.info = `${res.nodes.length} nodes, ${res.tier.name}, step ${res.step_seconds} s, ${res.nodes[0].buckets.length} buckets each, ${mb(text.length)} of JSON`
        }
        // The same answer from every variant, byte for byte (the first run of each, on the same data).
        if (i === 0) {
          const same = fleetFirst.get(ask)
          if (same === undefined) fleetFirst.set(ask, text)
          else console.log(`fleet answer${ask} [${name}] ${same === text ? 'identical to' : 'DIFFERS from'} [${variants[0][0]}]'s (${text.length.toLocaleString()} bytes)`)
        }
      }
    }
  }
  for (const [name, { node }] of times) {
    const label = variants.length > 1 ? ` [${name}]` : ''
    node.sort((a, b) => a - b)
    console.log(`one node × 30 d × 5 metrics${label} (${tierUsed}): median ${ms(percentile(node, 50))}, p95 ${ms(percentile(node, 95))}, max ${ms(node.at(-1))} over ${RUNS} runs`)
  }
  for (const [key, { runs, info }] of fleetTimes) {
    runs.sort((a, b) => a - b)
    console.log(`all nodes × cpu × 24 h [${key}] (${info}): median ${ms(percentile(runs, 50))}, p95 ${ms(percentile(runs, 95))}, max ${ms(runs.at(-1))} over ${runs.length} runs`)
  }

  if (LEADER_SECONDS > 0) {
    // Each variant twice, in the order now, before, before, now: the load on the machine drifts.
    const rounds = variants.length > 1 ? [variants[0], variants[1], variants[1], variants[0]] : [variants[0], variants[0]]
    const leaderTimes = new Map(variants.map(([name]) => [name, { node: [], fleet: [], rollup: [] }]))
    for (const [name, q] of rounds) await withLeader(db, firstNode, q, leaderTimes.get(name))
    for (const [name, { node, fleet, rollup }] of leaderTimes) {
      const label = variants.length > 1 ? ` [${name}]` : ''
      console.log(`with the leader at work${label}: one node × 30 d × 5 metrics ${summary(node)}; all nodes × cpu × 24 h ${summary(fleet)}; the leader's rollup runs ${summary(rollup)}`)
    }
  }

  const s = await sizes(db)
  const rawRow = afterRollup.raw / afterRollup.raw_rows
  const rollupRow = s.rollups / s.rollup_rows
  const perDay = NODES * DAY / INTERVAL
  const full = {
    raw: 2 * perDay * rawRow,
    '1m': 14 * NODES * 1440 * rollupRow,
    '15m': 30 * NODES * 96 * rollupRow,
    '1h': 30 * NODES * 24 * rollupRow,
  }
  console.log(`database: ${mb(s.db)} now (raw ${mb(afterRollup.raw)} for ${afterRollup.raw_rows.toLocaleString()} rows = ${Math.round(rawRow)} B/row;`
    + ` rollups ${mb(s.rollups)} for ${s.rollup_rows.toLocaleString()} rows = ${Math.round(rollupRow)} B/row, indexes included)`)
  console.log(`extrapolated, 30 days of ${NODES} nodes at ${INTERVAL} s under ${DEFAULT_HISTORY_TIERS}: raw 48 h ${gb(full.raw)}, 1m 14 d ${gb(full['1m'])},`
    + ` 15m 30 d ${gb(full['15m'])}, 1h 30 d ${gb(full['1h'])} = ${gb(Object.values(full).reduce((a, b) => a + b, 0))}`)
}

try {
  for (const driver of opts.driver.split(',')) {
    if (driver === 'pglite') {
      const dir = join(tmp, 'pglite')
      const handle = await openDatabase({ dataDir: dir, migrations })
      try {
        await bench('PGlite', handle)
      }
      finally {
        await handle.close()
      }
    }
    else if (driver === 'postgres') {
      const name = `np_bench_history_${randomBytes(4).toString('hex')}`
      const admin = postgres(opts.postgres, { max: 1, onnotice: () => {} })
      await admin.unsafe(`create database ${name}`)
      const url = new URL(opts.postgres)
      url.pathname = `/${name}`
      let handle
      try {
        handle = await openDatabase({ url: url.toString(), dataDir: '', migrations })
        await bench('Postgres', handle)
      }
      finally {
        await handle?.close()
        await admin.unsafe(`drop database if exists ${name} with (force)`)
        await admin.end({ timeout: 5 })
      }
    }
    else throw new Error(`--driver ${driver}: expected pglite or postgres`)
  }
}
finally {
  cleanUp()
}
