// Child process of bench/fanout-compare.mjs: one SSE server on 127.0.0.1 with one channel, run by one
// implementation (argv[2]: hub | better-sse | raw), driven by the parent over IPC. Run with --expose-gc.
//   hub        NodePulse's createHub (server/services/streams/hub.ts, transpiled by the parent): encodeSse once, hub.publish
//   better-sse better-sse 0.16.1: createSession per request, Channel.register, channel.broadcast(object)
//   raw        the ceiling: node:http, the same encodeSse bytes, `for (const res of set) res.write(buf)`
import http from 'node:http'
import { createChannel, createSession } from 'better-sse'
import { wallNow } from './lib.mjs'

const impl = process.argv[2]
const { createHub, encodeSse } = await import(process.env.FANOUT_HUB_MODULE)
const TOPIC = 'bench'
const HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', 'connection': 'keep-alive' }

let subscribe, broadcast, count, extra = () => ({})
if (impl === 'hub') {
  // The production defaults: 15 s heartbeat, 1 MiB per-client buffer (20 x 10 KB never reaches it).
  const hub = createHub({ heartbeatMs: 15_000, maxBufferBytes: 1024 * 1024 })
  subscribe = (req, res) => hub.subscribe(req, res, TOPIC)
  broadcast = (data, seq) => hub.publish(TOPIC, encodeSse(data, { event: 'snapshot', id: String(seq) }))
  count = () => hub.count(TOPIC)
  extra = () => ({ slowDisconnects: hub.stats().disconnects.slow })
}
else if (impl === 'better-sse') {
  const channel = createChannel()
  subscribe = async (req, res) => channel.register(await createSession(req, res))
  broadcast = (data, seq) => channel.broadcast(data, 'snapshot', { eventId: String(seq) })
  count = () => channel.sessionCount
}
else if (impl === 'raw') {
  const set = new Set()
  subscribe = (req, res) => {
    res.writeHead(200, HEADERS)
    res.flushHeaders()
    set.add(res)
    res.on('close', () => set.delete(res))
  }
  broadcast = (data, seq) => {
    const buf = encodeSse(data, { event: 'snapshot', id: String(seq) })
    for (const res of set) res.write(buf)
  }
  count = () => set.size
}
else throw new Error(`unknown implementation ${impl}`)

/** A seed-000-style snapshot of `nodes` node summaries; `sentAt` first so clients find it cheaply. */
function snapshot(nodes, seq) {
  const t = Date.now()
  return {
    sentAt: 0, seq, timestamp: new Date(t).toISOString(),
    nodes: Array.from({ length: nodes }, (_, i) => ({
      id: i + 1, hostname: `node-${String(i + 1).padStart(3, '0')}.cluster.internal`, status: i % 17 === 5 ? 'stale' : 'online',
      is_master: i === 0, cpu_percent: Math.round(Math.random() * 10000) / 100, memory_percent: Math.round(Math.random() * 10000) / 100,
      disk_percent: Math.round(Math.random() * 10000) / 100, uptime_seconds: 86_400 + i * 977, active_backups: i % 3,
      last_seen: new Date(t - (i % 7) * 1000).toISOString(),
    })),
  }
}

/** How many node summaries make a snapshot of about `bytes` bytes of JSON. */
function nodesFor(bytes) {
  let n = 1
  while (JSON.stringify(snapshot(n + 1, 1)).length <= bytes) n++
  return n
}

const rss = () => process.memoryUsage.rss()
function settledRss() {
  globalThis.gc()
  globalThis.gc()
  return rss()
}

let peakRss = 0
let sampler = null
let cpuAtRun = null

const handlers = {
  rss: () => ({ rss: settledRss(), count: count() }),
  count: () => ({ count: count() }),
  async run({ messages, intervalMs, payloadBytes }) {
    const nodes = nodesFor(payloadBytes)
    peakRss = rss()
    sampler = setInterval(() => (peakRss = Math.max(peakRss, rss())), 20)
    cpuAtRun = process.cpuUsage()
    const calls = []
    const sends = []
    const start = wallNow() + 50
    for (let seq = 1; seq <= messages; seq++) {
      const wait = start + (seq - 1) * intervalMs - wallNow()
      if (wait > 0) await new Promise(r => setTimeout(r, wait))
      const data = snapshot(nodes, seq)
      const t0 = wallNow()
      data.sentAt = t0
      broadcast(data, seq)
      const t1 = wallNow()
      calls.push(t1 - t0)
      sends.push(t0)
      peakRss = Math.max(peakRss, rss())
    }
    return { calls, firstSend: sends[0], lastSend: sends.at(-1), payloadBytes: JSON.stringify(snapshot(nodes, 1)).length, nodes }
  },
  stats() {
    clearInterval(sampler)
    const cpu = process.cpuUsage(cpuAtRun)
    return { peakRss: Math.max(peakRss, rss()), cpuSeconds: (cpu.user + cpu.system) / 1e6, count: count(), ...extra() }
  },
}

process.on('message', async ({ id, type, ...args }) => {
  try {
    process.send({ id, ...(await handlers[type](args)) })
  }
  catch (err) {
    process.send({ id, error: String(err?.stack ?? err) })
  }
})
process.on('disconnect', () => process.exit(0))

const server = http.createServer((req, res) => {
  Promise.resolve(subscribe(req, res)).catch((err) => {
    console.error(`${impl}: subscribe failed: ${err}`)
    res.destroy()
  })
})
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => process.send({ type: 'listening', port: server.address().port }))
