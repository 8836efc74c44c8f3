#!/usr/bin/env node
// Where a 1,000-sample catch-up batch's CPU goes before the write, in-process (no server, no
// network): JSON.parse of the 0.9 MB body bench/ingest.mjs sends, the NUL/depth walk every body
// passes (server/utils/unstorable.ts), the contract check by zod's statsReport (the path before
// issue 13's change) and by checkStatsReport (after), and JSON.stringify of the rows as ingest's
// batch statement serializes them. Prints the median and p90 of each step over --rounds batches,
// the steps interleaved so they share the machine's load.
// Usage: node bench/ingest-validate.mjs [--rounds 40]
import { mkdtempSync, rmSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { batchBody } from './ingest-body.mjs'
import { percentile, transpileTs } from './lib.mjs'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '40' } } })
const ROUNDS = Number(values.rounds)

// Inside node_modules, so the transpiled modules find their packages (zod).
const dir = mkdtempSync(resolve('node_modules', '.cache', 'ingest-validate-bench-'))
const [{ statsReport }, { checkStatsReport }, { unstorable }] = await Promise.all(
  ['shared/contracts/ingest.ts', 'shared/contracts/ingestCheck.ts', 'server/utils/unstorable.ts'].map(async f => import(await transpileTs(f, dir))),
)
rmSync(dir, { recursive: true, force: true })

/** The rows' JSON as server/services/ingest.ts's batchStatement builds it from a checked report. */
const rowsJson = report => JSON.stringify(report.samples.map(s => ({
  node_id: 1, ts: s.timestamp, cpu_percent: s.cpu_percent, memory_percent: s.memory_percent ?? null, disk_percent: s.disk_percent,
  uptime_seconds: s.uptime_seconds ?? null, active_backups: s.active_backups ?? null, detail: s.detail ?? null,
})))

const steps = {
  'JSON.parse': text => JSON.parse(text),
  'unstorable walk': (_, value) => unstorable(value),
  'zod statsReport (before)': (_, value) => statsReport.safeParse(value),
  'checkStatsReport (after)': (_, value) => checkStatsReport(value),
  'rows JSON.stringify (write)': (_, __, report) => rowsJson(report),
}
const times = Object.fromEntries(Object.keys(steps).map(k => [k, []]))
const from = Date.now() - 3_600_000
for (let round = 0; round < ROUNDS + 3; round++) {
  const text = batchBody(from + round * 10_000)
  const value = JSON.parse(text)
  const report = checkStatsReport(value)
  if (!report || !statsReport.safeParse(value).success) throw new Error('the bench batch must pass both checks')
  for (const [name, step] of Object.entries(steps)) {
    const started = performance.now()
    step(text, value, report)
    // The first rounds warm the JIT.
    if (round >= 3) times[name].push(performance.now() - started)
  }
}

console.log(`1,000-sample batch (${Buffer.byteLength(batchBody(from)).toLocaleString('en-US')} bytes), ${ROUNDS} rounds, ms per batch`)
console.log('| step | median | p90 |\n|---|---|---|')
for (const [name, list] of Object.entries(times)) {
  list.sort((a, b) => a - b)
  console.log(`| ${name} | ${percentile(list, 50).toFixed(2)} | ${percentile(list, 90).toFixed(2)} |`)
}
