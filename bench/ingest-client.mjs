// One load-generator process of bench/ingest.mjs: one raw keep-alive HTTP/1.1 connection per simulated
// agent, each posting its own node's reports back to back with its own token. Raw sockets (a request
// is one pre-built string, a response is read by its Content-Length) keep the client's own cost per
// request far below the server's, so several of these processes can load the server to its ceiling.
// Driven over IPC by bench/load.mjs: {agents: [{id, token, port}], body, batchFrom, warmupAt, startAt, endAt} in, latencies out.
import { connect } from 'node:net'

/** A realistic single sample of a 2-core VM, as shared/sampler.ts reads it (one filesystem, one interface). */
function sample(ts, cpu) {
  return {
    cpu_percent: cpu, memory_percent: 41.3, disk_percent: 62.5, uptime_seconds: 812_345, active_backups: 0, timestamp: new Date(ts).toISOString(),
    detail: {
      load: { '1m': 0.42, '5m': 0.37, '15m': 0.31 }, cpu_cores: [cpu, 100 - cpu],
      memory: { total_bytes: 4_124_880_896, used_bytes: 1_703_575_552, available_bytes: 2_421_305_344, swap_total_bytes: 1_073_737_728, swap_used_bytes: 12_582_912 },
      disk: { mount: '/', fs: '/dev/vda1', size_bytes: 41_083_600_896, used_bytes: 25_677_250_560, percent: 62.5 },
      disks: [{ mount: '/', fs: '/dev/vda1', type: 'ext4', size_bytes: 41_083_600_896, used_bytes: 25_677_250_560, percent: 62.5 }],
      disk_io: { read_bytes_per_sec: 1228.8, write_bytes_per_sec: 48_332.8 },
      network: [{ iface: 'eth0', rx_bytes_per_sec: 2150.4, tx_bytes_per_sec: 1843.2, rx_bytes: 918_273_645, tx_bytes: 127_364_591 }],
      processes: 143,
      os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.1.0-28-amd64', arch: 'x64', hostname: 'vm-01' },
    },
  }
}

// A catch-up batch's samples as JSON after their timestamp, built once: the generator then only
// stamps them, so building a 0.9 MB body costs it far less than the server's parsing of it.
const BATCH_TAILS = Array.from({ length: 1000 }, (_, i) => {
  const rest = sample(0, (i * 7) % 100)
  delete rest.timestamp
  return JSON.stringify(rest).slice(1)
})

/**
 * The next body an agent sends: `single` one sample stamped now (kept increasing per agent, so no
 * two are the same sample), `invalid` the same with one bad field (answered 422), `batch` 1,000
 * catch-up samples 10 ms apart from `batchFrom` on (each batch new samples).
 */
function nextBody(kind, agent) {
  if (kind === 'batch') {
    const from = agent.next
    agent.next += 1000 * 10
    return `{"samples":[${BATCH_TAILS.map((tail, i) => `{"timestamp":"${new Date(from + i * 10).toISOString()}",${tail}`).join(',')}]}`
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
