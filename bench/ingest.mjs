#!/usr/bin/env node
// Ingest throughput: C agents post reports back to back for S seconds; prints accepted reports/s,
// latency percentiles and server CPU. Add --postgres URL to run against PostgreSQL (a fresh database is created).
// Usage: npm run build && node bench/ingest.mjs [--agents 50] [--seconds 10] [--postgres postgres://postgres@127.0.0.1:5432/postgres]
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { adminToken, percentile, procStats, startServer } from './lib.mjs'

const { values } = parseArgs({ options: { agents: { type: 'string', default: '50' }, seconds: { type: 'string', default: '10' }, postgres: { type: 'string' } } })
const AGENTS = Number(values.agents)
const SECONDS = Number(values.seconds)

let env = {}
let dropDb = async () => {}
if (values.postgres) {
  const name = `np_bench_${Date.now()}`
  const admin = postgres(values.postgres, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  const url = new URL(values.postgres)
  url.pathname = `/${name}`
  env = { DATABASE_URL: url.toString() }
  dropDb = async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`)
    await admin.end()
  }
}
const server = await startServer(env)
const token = await adminToken(server.base)
const agents = []
for (let i = 0; i < AGENTS; i++) {
  const res = await fetch(`${server.base}/api/v1/nodes`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ hostname: `ingest-${i}` }) })
  agents.push(await res.json())
}

const latencies = []
let failed = 0
const deadline = Date.now() + SECONDS * 1000
const before = procStats(server.pid)
const start = Date.now()
await Promise.all(agents.map(async (a) => {
  while (Date.now() < deadline) {
    const t = performance.now()
    const res = await fetch(`${server.base}/api/v1/nodes/${a.id}/stats`, {
      method: 'POST', headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cpu_percent: Math.random() * 100, memory_percent: 50, disk_percent: 40, timestamp: new Date().toISOString() }),
    })
    await res.arrayBuffer()
    if (res.ok) latencies.push(performance.now() - t)
    else failed++
  }
}))
const elapsed = (Date.now() - start) / 1000
const after = procStats(server.pid)
await server.stop()
await dropDb()

latencies.sort((a, b) => a - b)
console.log(`ingest on ${values.postgres ? 'PostgreSQL' : 'PGlite'}: ${AGENTS} agents back to back for ${elapsed.toFixed(1)}s`)
console.log(`  accepted       ${(latencies.length / elapsed).toFixed(0)} reports/s (${latencies.length} total, ${failed} failed)`)
console.log(`  latency        p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`)
console.log(`  server CPU     ${(((after.cpuSeconds - before.cpuSeconds) / elapsed) * 100).toFixed(0)} % of one core, RSS ${after.rss.toFixed(0)} MiB`)
