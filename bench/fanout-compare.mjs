#!/usr/bin/env node
// Issue's benchmark: fan-out of one channel to N subscribers, side by side in one run, for
//   hub         NodePulse's hub (server/services/streams/hub.ts, transpiled in-process with esbuild; no build needed)
//   better-sse  better-sse 0.16.1 Channel.broadcast (one Session per subscriber)
//   raw         a plain node:http loop writing the same pre-encoded Buffer to every response (the ceiling)
// Each (implementation, N) gets a fresh server child process (so its RSS is its own) and N SSE clients spread
// over client child processes; the server broadcasts M ~10 KB JSON snapshots on a fixed schedule, each carrying
// its send time. Reported: broadcast call duration, delivered events/s, send-to-receipt latency, RSS per connection.
// Usage: node bench/fanout-compare.mjs [--sizes 1000,5000,10000] [--messages 20] [--interval 250]
//          [--payload 10240] [--impls raw,hub,better-sse] [--client-procs 2] [--drain-timeout 30]
// Clients and server share the machine's cores: on a small machine client CPU bounds the latencies.
import { fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { percentile, transpileTs } from './lib.mjs'

const { values } = parseArgs({ options: {
  'sizes': { type: 'string', default: '1000,5000,10000' },
  'messages': { type: 'string', default: '20' },
  'interval': { type: 'string', default: '250' },
  'payload': { type: 'string', default: '10240' },
  'impls': { type: 'string', default: 'raw,hub,better-sse' },
  'client-procs': { type: 'string', default: '2' },
  'drain-timeout': { type: 'string', default: '30' },
} })
const SIZES = values.sizes.split(',').map(Number)
const MESSAGES = Number(values.messages)
const INTERVAL_MS = Number(values.interval)
const PAYLOAD = Number(values.payload)
const IMPLS = values.impls.split(',')
const CLIENT_PROCS = Number(values['client-procs'])
const DRAIN_TIMEOUT_MS = Number(values['drain-timeout']) * 1000
const WARM = 100
const NAMES = { 'raw': 'raw node:http loop', 'hub': 'NodePulse hub', 'better-sse': 'better-sse broadcast' }

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const tmp = mkdtempSync(join(tmpdir(), 'nodepulse-fanout-'))
const hubModule = await transpileTs(join(root, 'server/services/streams/hub.ts'), tmp)

const children = new Set()
function cleanup() {
  for (const c of children) c.kill('SIGKILL')
  rmSync(tmp, { recursive: true, force: true })
}
process.on('exit', cleanup)
process.on('SIGINT', () => process.exit(130))
process.on('SIGTERM', () => process.exit(143))

/** Forks a bench child and gives it a small request/response channel over IPC. */
async function spawnChild(script, args, env = {}, execArgv = []) {
  const child = fork(join(here, script), args, { serialization: 'advanced', execArgv, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  children.add(child)
  const pending = new Map()
  let nextId = 1
  const first = new Promise((resolve, reject) => {
    child.once('message', resolve)
    child.once('exit', code => reject(new Error(`${script} exited with ${code} before it was ready`)))
  })
  child.on('message', (m) => {
    const p = m.id && pending.get(m.id)
    if (!p) return
    pending.delete(m.id)
    if (m.error) p.reject(new Error(`${script}: ${m.error}`))
    else p.resolve(m)
  })
  child.on('exit', () => {
    children.delete(child)
    for (const p of pending.values()) p.reject(new Error(`${script} exited`))
  })
  const hello = await first
  return {
    hello,
    call(type, args = {}) {
      const id = nextId++
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject })
        child.send({ id, type, ...args })
      })
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise(r => child.once('exit', r))
      child.kill('SIGKILL')
      await exited
    },
  }
}

const sleep = ms => new Promise(r => setTimeout(r, ms))
const MiB = 1024 * 1024

async function runOne(impl, n) {
  const server = await spawnChild('fanout-server.mjs', [impl], { FANOUT_HUB_MODULE: hubModule }, ['--expose-gc'])
  const clients = []
  try {
    const { port } = server.hello
    for (let i = 0; i < CLIENT_PROCS; i++) clients.push(await spawnChild('fanout-clients.mjs', []))
    const subscribed = async (count) => {
      for (let i = 0; (await server.call('count')).count < count; i++) {
        if (i > 100) throw new Error(`${impl}: the server never saw ${count} subscribers`)
        await sleep(100)
      }
      await sleep(500)
    }
    // A few warm-up subscribers first, so the baseline already holds the one-off costs of serving a
    // connection (compiled code, parser pools): RSS per connection is then the marginal cost.
    const warm = Math.min(WARM, Math.floor(n / 10))
    await clients[0].call('connect', { port, count: warm, messages: MESSAGES, concurrency: 10 })
    await subscribed(warm)
    const idle = await server.call('rss')
    const rest = n - warm
    const shares = clients.map((_, i) => Math.floor(rest / CLIENT_PROCS) + (i < rest % CLIENT_PROCS ? 1 : 0))
    const connects = await Promise.all(clients.map((c, i) => c.call('connect', { port, count: shares[i], messages: MESSAGES, concurrency: 100 })))
    await subscribed(n)
    await sleep(500)
    const loaded = await server.call('rss')

    await Promise.all(clients.map(c => c.call('mark')))
    const run = await server.call('run', { messages: MESSAGES, intervalMs: INTERVAL_MS, payloadBytes: PAYLOAD })
    const expected = n * MESSAGES
    const deadline = Date.now() + DRAIN_TIMEOUT_MS
    let received = 0
    while (Date.now() < deadline) {
      received = (await Promise.all(clients.map(c => c.call('progress')))).reduce((s, p) => s + p.received, 0)
      if (received >= expected) break
      await sleep(50)
    }
    const stats = await server.call('stats')
    const reports = await Promise.all(clients.map(c => c.call('report')))

    received = reports.reduce((s, r) => s + r.received, 0)
    const lastRecv = Math.max(...reports.map(r => r.lastRecv))
    const all = new Float64Array(reports.reduce((s, r) => s + r.latencies.length, 0))
    let o = 0
    for (const r of reports) {
      all.set(r.latencies, o)
      o += r.latencies.length
    }
    all.sort()
    const calls = [...run.calls].sort((a, b) => a - b)
    return {
      impl, n, received, expected,
      payloadBytes: run.payloadBytes,
      connectMs: Math.max(...connects.map(c => c.connectMs)),
      callP50: percentile(calls, 50), callMax: calls.at(-1),
      eventsPerSecond: received / ((lastRecv - run.firstSend) / 1000),
      deliverySeconds: (lastRecv - run.firstSend) / 1000,
      p50: percentile(all, 50), p99: percentile(all, 99), max: all.at(-1),
      idleRss: idle.rss / MiB, loadedRss: loaded.rss / MiB, rssPerConnKiB: (loaded.rss - idle.rss) / 1024 / (n - warm),
      peakRss: stats.peakRss / MiB, cpuSeconds: stats.cpuSeconds, slowDisconnects: stats.slowDisconnects ?? 0,
      clientCpuSeconds: reports.reduce((s, r) => s + r.cpuSeconds, 0),
      failed: reports.reduce((s, r) => s + r.failed, 0),
    }
  }
  finally {
    await Promise.all(clients.map(c => c.stop()))
    await server.stop()
  }
}

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '–')
const started = Date.now()
const loadAtStart = loadavg()[0]
console.error(`fan-out compare: sizes ${SIZES.join(', ')}; ${MESSAGES} messages every ${INTERVAL_MS} ms; ~${PAYLOAD} B payload; ${CLIENT_PROCS} client processes`)
const results = []
for (const n of SIZES) {
  for (const impl of IMPLS) {
    const r = await runOne(impl, n)
    results.push(r)
    console.error(`  ${NAMES[impl].padEnd(21)} N=${String(n).padStart(5)}  connect ${fmt(r.connectMs)} ms, call p50 ${fmt(r.callP50, 1)} ms, `
      + `${fmt(r.eventsPerSecond)} ev/s over ${fmt(r.deliverySeconds, 1)} s, p50/p99/max ${fmt(r.p50, 1)}/${fmt(r.p99, 1)}/${fmt(r.max, 1)} ms, `
      + `RSS ${fmt(r.idleRss)} → ${fmt(r.loadedRss)} MiB (peak ${fmt(r.peakRss)}), CPU server ${fmt(r.cpuSeconds, 2)} s / clients ${fmt(r.clientCpuSeconds, 2)} s, ${r.received}/${r.expected} received`)
  }
}

/** Delivered events/s if every message arrived the instant it was sent: N·M over the send window. */
const offered = n => (n * MESSAGES) / (((MESSAGES - 1) * INTERVAL_MS) / 1000)
const payload = results[0]?.payloadBytes
console.log(`\nOne channel, ${MESSAGES} messages of ${fmt(payload)} B JSON every ${INTERVAL_MS} ms; ${CLIENT_PROCS} client processes on the same machine.\n`)
console.log('| subscribers | implementation | broadcast call p50 / max | delivered events/s (instant) | latency p50 / p99 | RSS per connection | server peak RSS | server / client CPU | received |')
console.log('|---:|---|---:|---:|---:|---:|---:|---:|---:|')
for (const r of results) {
  const received = r.received === r.expected ? 'all' : `${fmt(r.received)} of ${fmt(r.expected)}`
  const notes = [r.slowDisconnects ? `${r.slowDisconnects} dropped as slow` : '', r.failed ? `${r.failed} failed` : ''].filter(Boolean).join(', ')
  console.log(`| ${fmt(r.n)} | ${NAMES[r.impl]} | ${fmt(r.callP50, 1)} / ${fmt(r.callMax, 1)} ms | ${fmt(r.eventsPerSecond)} (${fmt(offered(r.n))}) | ${fmt(r.p50, 1)} / ${fmt(r.p99, 1)} ms | ${fmt(r.rssPerConnKiB, 1)} KiB | ${fmt(r.peakRss)} MiB | ${fmt(r.cpuSeconds, 1)} / ${fmt(r.clientCpuSeconds, 1)} s | ${received}${notes ? ` (${notes})` : ''} |`)
}
console.log(`\ntotal run time ${fmt((Date.now() - started) / 1000)} s; load average (1 min) ${loadAtStart.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end`)
