#!/usr/bin/env node
// Issue 3's benchmark: N subscribers (default 1,000) on the unified stream while 100 nodes report;
// prints tick-to-receipt latency percentiles, server RSS and server CPU.
// Usage: npm run build && node bench/stream-fanout.mjs [--subscribers 1000] [--nodes 100] [--seconds 20] [--interval 1]
import http from 'node:http'
import { parseArgs } from 'node:util'
import { adminToken, percentile, procStats, startServer } from './lib.mjs'

const { values } = parseArgs({ options: {
  subscribers: { type: 'string', default: '1000' }, nodes: { type: 'string', default: '100' },
  seconds: { type: 'string', default: '20' }, interval: { type: 'string', default: '1' },
} })
const SUBSCRIBERS = Number(values.subscribers)
const NODES = Number(values.nodes)
const SECONDS = Number(values.seconds)
const INTERVAL = Number(values.interval)

// The server refuses streams past NODEPULSE_SSE_MAX_CLIENTS (default 1,000): room for every subscriber, and a margin.
const server = await startServer({ NODEPULSE_SSE_CLIENT_BUFFER: String(8 * 1024 * 1024), NODEPULSE_SSE_MAX_CLIENTS: String(SUBSCRIBERS + 100) })
const token = await adminToken(server.base)
const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }

const agents = []
for (let i = 0; i < NODES; i++) {
  const res = await fetch(`${server.base}/api/v1/nodes`, { method: 'POST', headers: auth, body: JSON.stringify({ hostname: `bench-${i}` }) })
  const node = await res.json()
  agents.push({ id: node.id, token: node.token })
}

// Each node reports once per second, spread over the second.
let reports = 0
let reportErrors = 0
const reporters = agents.map((a, i) => setTimeout(function report() {
  fetch(`${server.base}/api/v1/nodes/${a.id}/stats`, {
    method: 'POST', headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ cpu_percent: Math.random() * 100, memory_percent: 50, disk_percent: 40, uptime_seconds: 1000 }),
  }).then(r => (r.ok ? reports++ : reportErrors++), () => reportErrors++)
  reporters[i] = setTimeout(report, 1000)
}, (i * 1000) / NODES))

const latencies = []
let measuring = false
let connected = 0
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity })
const url = new URL(`${server.base}/api/v1/metrics/nodes/stats/stream?interval=${INTERVAL}`)
const requests = []
for (let i = 0; i < SUBSCRIBERS; i++) {
  await new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`subscriber ${i}: HTTP ${res.statusCode}`))
      connected++
      let buffer = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => {
        buffer += chunk
        let end
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const message = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const m = /^data: \{"timestamp":"([^"]+)"/.exec(message)
          if (m && measuring) latencies.push(Date.now() - Date.parse(m[1]))
        }
      })
      resolve()
    })
    req.on('error', reject)
    requests.push(req)
  })
}

await new Promise(r => setTimeout(r, 2000))
const before = procStats(server.pid)
const start = Date.now()
measuring = true
await new Promise(r => setTimeout(r, SECONDS * 1000))
measuring = false
const after = procStats(server.pid)
const elapsed = (Date.now() - start) / 1000

reporters.forEach(t => clearTimeout(t))
requests.forEach(r => r.destroy())
await new Promise(r => setTimeout(r, 500))
const { data: hub } = await (await fetch(`${server.base}/api/realtime/hub/stats`, { headers: auth })).json()
await server.stop()

latencies.sort((a, b) => a - b)
const expected = Math.floor(elapsed / INTERVAL) * SUBSCRIBERS
console.log(`unified stream fan-out: ${SUBSCRIBERS} subscribers, ${NODES} nodes reporting 1/s, interval ${INTERVAL}s, ${elapsed.toFixed(1)}s measured`)
console.log(`  snapshots received  ${latencies.length} (expected ~${expected})`)
console.log(`  tick-to-receipt     p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms, max ${latencies.at(-1)} ms`)
console.log(`  server RSS          ${before.rss.toFixed(0)} MiB -> ${after.rss.toFixed(0)} MiB`)
console.log(`  server CPU          ${(((after.cpuSeconds - before.cpuSeconds) / elapsed) * 100).toFixed(1)} % of one core`)
console.log(`  reports accepted    ${reports} (${reportErrors} failed)`)
console.log(`  hub after close     ${hub.total_clients} clients (connected ${connected})`)
