#!/usr/bin/env node
// Ingest throughput, side by side in one run with the same load generator (bench/load.mjs: raw
// keep-alive connections from several processes, one per simulated agent, each with its own node
// and token): (a) a bare node:http handler parsing the same body, (b) NodePulse's route answering
// 422 (auth, body, validation, no write), (c) real ingest on PostgreSQL, (d) real ingest on PGlite;
// at each number of agents. Prints reports/s (samples/s with --body batch), latency p50/p99 and the
// CPU of the server, of PostgreSQL's backends and of the generator, then the ratios the targets name.
// With --before-build DIR (another build's .output, e.g. of the commit before a change), each NodePulse
// row is followed by the same row on that build, so before and after share the minute's load.
// Usage: npm run build && node bench/ingest.mjs --postgres postgres://postgres@127.0.0.1:5432/postgres
//        [--agents 50,100,200] [--seconds 10] [--warmup 3] [--clients 3] [--body single|batch] [--targets bare,invalid,postgres,pglite]
//        [--before-build /tmp/ingest-before/.output]
import { fork } from 'node:child_process'
import { parseArgs } from 'node:util'
import { adminToken, createAgents, freePort, freshDatabase, startServer } from './lib.mjs'
import { formatRow, runLoad, TABLE_HEAD } from './load.mjs'

const { values } = parseArgs({ options: {
  agents: { type: 'string', default: '50,100,200' }, seconds: { type: 'string', default: '10' }, warmup: { type: 'string', default: '3' },
  clients: { type: 'string', default: '3' }, body: { type: 'string', default: 'single' },
  targets: { type: 'string', default: 'bare,invalid,postgres,pglite' }, postgres: { type: 'string' }, 'before-build': { type: 'string' },
} })
const COUNTS = values.agents.split(',').map(Number)
const BEFORE = values['before-build']
// Each NodePulse target's twin on the before build runs right after it.
const TARGETS = values.targets.split(',').flatMap(t => (BEFORE && t !== 'bare' ? [t, `${t}:before`] : [t]))
const BATCH = values.body === 'batch'
if (!values.postgres && TARGETS.some(t => t === 'postgres' || t === 'invalid')) throw new Error('--postgres URL is needed for the postgres and invalid targets')

/** The bare handler in its own process. */
async function startBare() {
  const port = await freePort()
  const child = fork(new URL('./ingest-bare.mjs', import.meta.url), { env: { ...process.env, PORT: String(port) } })
  await new Promise(resolve => child.once('message', resolve))
  return { port, pid: child.pid, stop: () => child.kill() }
}

/** A built NodePulse server (of `output`, this build's by default) with `count` agent nodes of its own. */
async function startNodePulse(env, count, output) {
  const server = await startServer(env, { output })
  const agents = await createAgents(server.base, await adminToken(server.base), count, 'ingest')
  return { server, port: Number(new URL(server.base).port), agents }
}

const most = Math.max(...COUNTS)
const usesPostgres = TARGETS.some(t => t === 'postgres' || t === 'invalid')
let bare, pg, lite, pgBefore, liteBefore
const database = usesPostgres ? await freshDatabase(values.postgres, 'np_bench_ingest') : undefined
const databaseBefore = usesPostgres && BEFORE ? await freshDatabase(values.postgres, 'np_bench_ingest_before') : undefined

const unit = BATCH ? 'samples/s' : 'reports/s'
const results = {}
console.log(`ingest, ${BATCH ? '1,000-sample catch-up batches' : 'single-sample reports'}, ${values.clients} generator processes, ${values.warmup} s warm-up + ${values.seconds} s measured per row`)
console.log(TABLE_HEAD(unit))
let round = 0
try {
  bare = TARGETS.includes('bare') ? await startBare() : undefined
  pg = database ? await startNodePulse({ DATABASE_URL: database.url }, most) : undefined
  lite = TARGETS.includes('pglite') ? await startNodePulse({}, most) : undefined
  pgBefore = databaseBefore ? await startNodePulse({ DATABASE_URL: databaseBefore.url }, most, BEFORE) : undefined
  liteBefore = TARGETS.includes('pglite:before') ? await startNodePulse({}, most, BEFORE) : undefined
  const targets = {
    // The bare handler reads no token: any node ids do.
    bare: bare && { label: 'bare node:http handler', port: bare.port, agents: pg?.agents ?? lite?.agents ?? Array.from({ length: most }, (_, i) => ({ id: i + 1, token: 'none' })), watch: { server: [bare.pid] } },
    invalid: pg && { label: 'NodePulse route answering 422', port: pg.port, agents: pg.agents, body: 'invalid', watch: { server: [pg.server.pid], postgres: database.backendPids } },
    postgres: pg && { label: 'NodePulse ingest, PostgreSQL', port: pg.port, agents: pg.agents, watch: { server: [pg.server.pid], postgres: database.backendPids } },
    pglite: lite && { label: 'NodePulse ingest, PGlite', port: lite.port, agents: lite.agents, watch: { server: [lite.server.pid] } },
    'invalid:before': pgBefore && { label: 'before: route answering 422', port: pgBefore.port, agents: pgBefore.agents, body: 'invalid', watch: { server: [pgBefore.server.pid], postgres: databaseBefore.backendPids } },
    'postgres:before': pgBefore && { label: 'before: ingest, PostgreSQL', port: pgBefore.port, agents: pgBefore.agents, watch: { server: [pgBefore.server.pid], postgres: databaseBefore.backendPids } },
    'pglite:before': liteBefore && { label: 'before: ingest, PGlite', port: liteBefore.port, agents: liteBefore.agents, watch: { server: [liteBefore.server.pid] } },
  }
  for (const count of COUNTS) {
    for (const name of TARGETS) {
      const t = targets[name]
      const r = await runLoad({
        agents: t.agents.slice(0, count).map(a => ({ ...a, port: t.port })),
        body: BATCH ? 'batch' : t.body ?? 'single', clients: Number(values.clients), warmup: Number(values.warmup), seconds: Number(values.seconds),
        watch: t.watch, batchFrom: Date.now() - 40 * 3_600_000 + round++ * 3_600_000,
      })
      results[`${name}@${count}`] = r
      console.log(formatRow(t.label, count, r, unit))
    }
  }
}
finally {
  bare?.stop()
  await pg?.server.stop()
  await lite?.server.stop()
  await pgBefore?.server.stop()
  await liteBefore?.server.stop()
  await database?.drop()
  await databaseBefore?.drop()
}

const rate = r => (BATCH ? r.samples : r.reports)
for (const count of COUNTS) {
  const ratio = (a, b) => (results[`${a}@${count}`] && results[`${b}@${count}`] ? (rate(results[`${a}@${count}`]) / rate(results[`${b}@${count}`])).toFixed(2) : '–')
  console.log(`${count} agents: PostgreSQL/bare ${ratio('postgres', 'bare')}, PostgreSQL/422 ${ratio('postgres', 'invalid')}, PGlite/bare ${ratio('pglite', 'bare')}, 422/bare ${ratio('invalid', 'bare')}`)
  if (BEFORE) console.log(`${count} agents, after/before: 422 ${ratio('invalid', 'invalid:before')}, PostgreSQL ${ratio('postgres', 'postgres:before')}, PGlite ${ratio('pglite', 'pglite:before')}`)
}
