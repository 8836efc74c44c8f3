#!/usr/bin/env node
// Issue 14's soak run (not in CI): 1,000 stream subscribers and 200 agents against the built server
// for 10 minutes; prints the server's RSS at the start and the end, a line a minute, and the errors,
// which must be 0 (exit code 1 otherwise). An error is a report not answered 2xx, a failed request,
// a stream refused or ended by the server, or a subscriber that stayed silent past two heartbeats.
// Agents report every 5 s by default, as the agent does; `--interval 1` is five times a real fleet's
// load, and on a 2-core machine this script's own reader (~130,000 stream messages/s then) takes the
// cores the server needs (RELIABILITY.md, "Soak").
// Usage: npx nuxi build && node bench/soak.mjs [--subscribers 1000] [--agents 200] [--minutes 10] [--interval 5]
import http from 'node:http'
import { parseArgs } from 'node:util'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { adminToken, procStats, startServer } from './lib.mjs'

if (!isMainThread) {
  // The agents' thread: each reports every intervalMs, spread over the interval; tells the main thread each outcome.
  const { base, agents, intervalMs } = workerData
  agents.forEach((a, i) => setTimeout(function report() {
    fetch(`${base}/api/v1/nodes/${a.id}/stats`, {
      method: 'POST', headers: { 'authorization': `Bearer ${a.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cpu_percent: Math.random() * 100, memory_percent: 50, disk_percent: 40, uptime_seconds: 1000 }),
    }).then(async (r) => {
      await r.text()
      parentPort.postMessage(r.ok ? { ok: true } : { error: `a report of node ${a.id}: HTTP ${r.status}` })
    }, e => parentPort.postMessage({ error: `a report of node ${a.id}: ${e.message}${e.cause ? ` (${e.cause.code ?? e.cause.message})` : ''}` }))
    setTimeout(report, intervalMs)
  }, (i * intervalMs) / agents.length))
}

if (isMainThread) await main()

/** The soak run: the server, the subscribers, the agents' thread, and the figures. */
async function main() {
  const { values } = parseArgs({ options: {
    subscribers: { type: 'string', default: '1000' }, agents: { type: 'string', default: '200' },
    minutes: { type: 'string', default: '10' }, interval: { type: 'string', default: '5' },
  } })
  const SUBSCRIBERS = Number(values.subscribers)
  const AGENTS = Number(values.agents)
  const MINUTES = Number(values.minutes)
  const INTERVAL_MS = Number(values.interval) * 1000
  const HEARTBEAT_S = 5
  const SEPARATOR = Buffer.from('\n\n')
  // The subscribers spread over the kinds of stream a dashboard opens.
  const PATHS = ['/stream/reports', '/stream/stats', '/stream/nodes', '/stream/all', '/api/v1/events/stream', '/api/v1/metrics/nodes/stats/stream']

  const server = await startServer({
    NODEPULSE_SSE_MAX_CLIENTS: String(SUBSCRIBERS + 100),
    NODEPULSE_SSE_MAX_CLIENTS_PER_USER: String(SUBSCRIBERS + 100),
    NODEPULSE_HEARTBEAT_INTERVAL: String(HEARTBEAT_S),
  })
  const errors = []
  const error = (what) => {
    if (errors.length < 20) console.error(`  error: ${what}`)
    errors.push(what)
  }
  let stopping = false

  try {
    const token = await adminToken(server.base)
    const auth = { 'authorization': `Bearer ${token}`, 'content-type': 'application/json' }
    const agents = []
    for (let i = 0; i < AGENTS; i++) {
      const res = await fetch(`${server.base}/api/v1/nodes`, { method: 'POST', headers: auth, body: JSON.stringify({ hostname: `soak-${i}` }) })
      if (res.status !== 201) throw new Error(`creating node ${i}: HTTP ${res.status} ${await res.text()}`)
      agents.push(await res.json())
    }

    // Subscribers: plain sockets, no pooling; each must hear something (a message or a heartbeat) every two heartbeats.
    const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity })
    const subscribers = []
    let messages = 0
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const path = PATHS[i % PATHS.length]
      await new Promise((resolve, reject) => {
        const sub = { path, heardAt: Date.now(), req: null }
        sub.req = http.get(new URL(path, server.base), { agent, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
          if (res.statusCode !== 200) return reject(new Error(`subscriber ${i} on ${path}: HTTP ${res.statusCode}`))
          res.on('data', (chunk) => {
            sub.heardAt = Date.now()
            for (let at = chunk.indexOf(SEPARATOR); at !== -1; at = chunk.indexOf(SEPARATOR, at + 2)) messages++
          })
          res.on('end', () => stopping || error(`the server ended subscriber ${i} on ${path}`))
          res.on('error', e => stopping || error(`subscriber ${i} on ${path}: ${e.message}`))
          subscribers.push(sub)
          resolve()
        })
        sub.req.on('error', reject)
      })
    }

    // The agents run in a thread of their own: reading 1,000 streams keeps this one busy, and a
    // report waiting behind that would be the bench's delay, not the server's.
    let reports = 0
    const reporters = new Worker(new URL(import.meta.url), { workerData: { base: server.base, agents, intervalMs: INTERVAL_MS } })
    reporters.on('message', (m) => {
      if (m.ok) reports++
      else if (!stopping) error(m.error)
    })

    const silent = setInterval(() => {
      const now = Date.now()
      for (const s of subscribers) {
        if (now - s.heardAt > 2 * HEARTBEAT_S * 1000 + 2000) {
          error(`a subscriber on ${s.path} heard nothing for ${((now - s.heardAt) / 1000).toFixed(0)} s`)
          s.heardAt = now
        }
      }
    }, 1000)

    const start = procStats(server.pid)
    const startedAt = Date.now()
    console.log(`soak: ${SUBSCRIBERS} subscribers (${PATHS.join(', ')}), ${AGENTS} agents reporting every ${INTERVAL_MS / 1000} s, ${MINUTES} min`)
    console.log(`  start  RSS ${start.rss.toFixed(0)} MiB`)
    for (let minute = 1; minute <= Math.ceil(MINUTES); minute++) {
      await new Promise(r => setTimeout(r, Math.min(60_000, MINUTES * 60_000 - (Date.now() - startedAt))))
      const now = procStats(server.pid)
      console.log(`  ${((Date.now() - startedAt) / 60_000).toFixed(1)} min  RSS ${now.rss.toFixed(0)} MiB, CPU ${(((now.cpuSeconds - start.cpuSeconds) / ((Date.now() - startedAt) / 1000)) * 100).toFixed(0)} % of a core, ${reports} reports, ${messages} stream messages, ${errors.length} errors`)
    }
    const end = procStats(server.pid)
    const { data: hub } = await (await fetch(`${server.base}/api/realtime/hub/stats`, { headers: auth })).json()
    stopping = true
    clearInterval(silent)
    await reporters.terminate()
    subscribers.forEach(s => s.req.destroy())
    console.log(`  end    RSS ${end.rss.toFixed(0)} MiB (start ${start.rss.toFixed(0)} MiB)`)
    console.log(`  reports stored ${reports}, stream messages ${messages}, clients at the end ${hub.total_clients}, dropped as slow ${hub.disconnects.slow}`)
    if (hub.total_clients < SUBSCRIBERS) error(`only ${hub.total_clients} of ${SUBSCRIBERS} subscribers were still connected at the end`)
  }
  catch (e) {
    error(e.message)
  }
  finally {
    stopping = true
    await server.stop()
  }
  console.log(`  errors ${errors.length}`)
  process.exit(errors.length ? 1 : 0)
}
