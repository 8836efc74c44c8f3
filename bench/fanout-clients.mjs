// Child process of bench/fanout-compare.mjs: holds a share of the SSE subscribers and records, for every
// message that carries `"sentAt":<wall ms>` in its data, the receipt latency (receipt wall clock − sentAt).
// Parsing is kept minimal (find "\n\n", read one number) so the clients take as little of the CPU as they can.
import http from 'node:http'
import { wallNow } from './lib.mjs'

const MARK = '"sentAt":'
let latencies = new Float64Array(0)
let received = 0
let firstRecv = Infinity
let lastRecv = 0
let failed = 0
let cpuAtMark = null
const cpuSince = (mark) => {
  const c = process.cpuUsage(mark)
  return (c.user + c.system) / 1e6
}
const requests = []
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity })

function open(port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/stream', agent, headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`))
      res.setEncoding('latin1') // the payload is ASCII JSON; latin1 skips UTF-8 validation
      let buf = ''
      res.on('data', (chunk) => {
        const now = wallNow()
        buf = buf ? buf + chunk : chunk
        let end
        while ((end = buf.indexOf('\n\n')) !== -1) {
          const i = buf.indexOf(MARK)
          if (i !== -1 && i < end) {
            const latency = now - Number.parseFloat(buf.slice(i + MARK.length, i + MARK.length + 24))
            if (received < latencies.length) latencies[received] = latency
            received++
            if (now < firstRecv) firstRecv = now
            lastRecv = now
          }
          buf = buf.slice(end + 2)
        }
      })
      res.on('error', () => failed++)
      resolve()
    })
    req.on('error', (err) => {
      failed++
      reject(err)
    })
    requests.push(req)
  })
}

const handlers = {
  /** Opens `count` more subscribers (callable more than once: the parent opens a few first as a warm-up). */
  async connect({ port, count, messages, concurrency }) {
    const grown = new Float64Array(latencies.length + count * messages)
    grown.set(latencies)
    latencies = grown
    const start = wallNow()
    let next = 0
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        next++
        await open(port)
      }
    }))
    return { connectMs: wallNow() - start }
  },
  mark: () => {
    cpuAtMark = process.cpuUsage()
    return {}
  },
  progress: () => ({ received, failed }),
  report: () => ({ received, failed, firstRecv, lastRecv, cpuSeconds: cpuSince(cpuAtMark), latencies: latencies.slice(0, Math.min(received, latencies.length)) }),
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
process.send({ type: 'ready' })
