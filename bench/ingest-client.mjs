// One load-generator process of bench/ingest.mjs: one raw keep-alive HTTP/1.1 connection per simulated
// agent, each posting its own node's reports back to back with its own token. Raw sockets (a request
// is one pre-built string, a response is read by its Content-Length) keep the client's own cost per
// request far below the server's, so several of these processes can load the server to its ceiling.
// Driven over IPC by bench/load.mjs: {agents: [{id, token, port}], body, batchFrom, warmupAt, startAt, endAt} in, latencies out.
import { connect } from 'node:net'
import { batchBody, sample } from './ingest-body.mjs'

/**
 * The next body an agent sends: `single` one sample stamped now (kept increasing per agent, so no
 * two are the same sample), `invalid` the same with one bad field (answered 422), `batch` 1,000
 * catch-up samples 10 ms apart from `batchFrom` on (each batch new samples).
 */
function nextBody(kind, agent) {
  if (kind === 'batch') {
    const from = agent.next
    agent.next += 1000 * 10
    return batchBody(from)
  }
  agent.next = Math.max(agent.next + 1, Date.now())
  const s = sample(agent.next, (agent.next % 1000) / 10)
  if (kind === 'invalid') s.cpu_percent = 101
  return JSON.stringify(s)
}

/** Resolves with the status of the one response on `socket` once all of it has arrived. */
function readResponse(socket) {
  return new Promise((resolve, reject) => {
    let buf = ''
    const onData = (chunk) => {
      buf += chunk
      const head = buf.indexOf('\r\n\r\n')
      if (head < 0) return
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(buf.slice(0, head))
      const done = length ? buf.length - head - 4 >= Number(length[1]) : buf.endsWith('\r\n0\r\n\r\n')
      if (!done) return
      socket.off('data', onData)
      socket.off('error', reject)
      resolve(Number(buf.slice(9, 12)))
    }
    socket.setEncoding('latin1')
    socket.on('data', onData)
    socket.once('error', reject)
  })
}

/** One agent's connection: requests back to back until `endAt`; latencies of those started in [startAt, endAt). */
async function runAgent(agent, { body, startAt, endAt }, out) {
  const { port } = agent
  const socket = connect(port, '127.0.0.1')
  socket.setNoDelay(true)
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  const head = `POST /api/v1/nodes/${agent.id}/stats HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${agent.token}\r\nContent-Type: application/json\r\n`
  while (Date.now() < endAt) {
    const text = nextBody(body, agent)
    const started = performance.now()
    const counted = Date.now() >= startAt
    const answer = readResponse(socket)
    socket.write(`${head}Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`)
    const status = await answer
    if (!counted || Date.now() > endAt) continue
    out.statuses[status] = (out.statuses[status] ?? 0) + 1
    out.latencies.push(performance.now() - started)
  }
  socket.end()
}

process.on('message', async (job) => {
  const out = { latencies: [], statuses: {} }
  const agents = job.agents.map(a => ({ ...a, next: job.batchFrom ?? 0 }))
  await new Promise(resolve => setTimeout(resolve, Math.max(0, job.warmupAt - Date.now())))
  await Promise.all(agents.map(a => runAgent(a, job, out)))
  process.send(out, () => process.exit(0))
})
