/**
 * Fault injection: a stalled, a slow and a fast client together, while agents push batches. The
 * stalled client (a socket on /stream/all that never reads: the one stream there, so the hub's
 * figures tell when it is gone) must be dropped and counted in the metrics; the slow one (reads 16 KB/s) may keep up or be dropped, never hold the server's memory;
 * the fast one (on /stream/reports, like the slow one) must get every report, on one connection,
 * with the latency it has alone.
 *
 * Latency is the server's own `received_at` (set when a report arrives) to the fast client's
 * receipt; both runs push the same load for the same time. Prints its figures.
 */
import { connect, type Socket } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { startServer, type RunningServer } from '../integration/support/server'
import { admin, createAgents, push, resumingReader, rssOf, sleep, until, type Agent } from './support'

const PHASE_MS = 8000
const AGENTS = 4
const BATCH = 25
const BUFFER = 64 * 1024

/** A raw HTTP/1.1 stream request whose answer the test reads at its own pace (or not at all). */
function rawStream(base: string, path: string, cookie: string): { socket: Socket, bytes: () => number, readAt: (bytesPerSecond: number) => void } {
  const url = new URL(base)
  const socket = connect(Number(url.port), url.hostname)
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\nCookie: ${cookie}\r\n\r\n`)
  let bytes = 0
  // A dropped stream ends the socket; a stalled reader never sees it (the end waits behind unread bytes).
  socket.on('error', () => {})
  // Paused: nothing is read until readAt says so, so the kernel's buffers fill and then the server's.
  socket.pause()
  return {
    socket, bytes: () => bytes,
    readAt(bytesPerSecond) {
      socket.on('data', (chunk: Buffer) => {
        bytes += chunk.length
        socket.pause()
        setTimeout(() => socket.resume(), (chunk.length / bytesPerSecond) * 1000)
      })
      socket.resume()
    },
  }
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN
}

describe('a stalled, a slow and a fast client together', () => {
  let srv: RunningServer | undefined
  afterAll(() => srv?.stop())

  it('drops and counts the stalled one, keeps memory bounded and the fast one\'s latency', async () => {
    srv = await startServer({ label: 'slow-clients', env: { NODEPULSE_SAMPLE_INTERVAL: '3600', NODEPULSE_SSE_CLIENT_BUFFER: String(BUFFER), NODEPULSE_HEARTBEAT_INTERVAL: '1' } })
    const base = srv.info.baseURL
    const { cookie, bearer } = await admin(srv)
    const agents = await createAgents(srv, cookie, AGENTS, 'slow-clients')
    const ours = new Set(agents.map(a => a.id))
    const hub = async () => {
      const res = await fetch(`${base}/api/realtime/hub/stats`, { headers: { authorization: `Bearer ${bearer}` } })
      return ((await res.json()) as { data: { total_clients: number, streams: Record<string, number>, disconnects: Record<string, number> } }).data
    }

    const latencies: number[] = []
    let received = 0
    const keys = new Set<string>()
    const ackedKeys: string[] = []
    const fast = resumingReader(`${base}/stream/reports`, {
      headers: { cookie },
      onMessage(m) {
        if (m.event !== 'reports') return
        const r = JSON.parse(m.data!) as { node_id: number, sampled_at: string, received_at: string }
        if (!ours.has(r.node_id)) return
        received++
        keys.add(`${r.node_id}@${Date.parse(r.sampled_at)}`)
        latencies.push(m.at - Date.parse(r.received_at))
      },
    })
    /**
     * Pushes the same load (run `n`'s own timestamps) for PHASE_MS, and on until `done` holds;
     * returns the fast client's latencies over it and the samples acknowledged.
     */
    const phase = async (list: Agent[], n: number, done: () => Promise<boolean> = async () => true) => {
      const from = latencies.length
      const stop = new AbortController()
      const started = Date.now()
      const load = push(base, list, stop.signal, { batch: BATCH, pauseMs: 50, base: Date.now() - n * 4 * 3_600_000 })
      await sleep(PHASE_MS)
      // The kernel takes a few megabytes of a socket that is not read before the server sees anything.
      await until('the load\'s end', done, 60_000).finally(() => stop.abort())
      const seconds = (Date.now() - started) / 1000
      await load.done
      const acked = [...load.acked].reduce((n, [node, list]) => {
        ackedKeys.push(...list.map(ts => `${node}@${ts}`))
        return n + list.length
      }, 0)
      return { acked, seconds, latencies: () => latencies.slice(from) }
    }

    const others: ReturnType<typeof rawStream>[] = []
    try {
      await until('the fast client is connected', () => fast.connections() === 1)
      // A first run warms the server up (its first seconds are slower), so the two compared runs start alike.
      await phase(agents, 3)
      await until('the fast client has every report of the warm-up', () => ackedKeys.every(k => keys.has(k)), 30_000)
      const alone = await phase(agents, 1)
      await until('the fast client has every report of the first run', () => ackedKeys.every(k => keys.has(k)), 30_000)
      const aloneLatencies = alone.latencies()

      const rssBefore = rssOf(srv.pid)
      const stalled = rawStream(base, '/stream/all', cookie)
      const slow = rawStream(base, '/stream/reports', cookie)
      others.push(stalled, slow)
      slow.readAt(16 * 1024)
      await until('all three are connected', async () => (await hub()).total_clients >= 3 && (await hub()).streams.all === 1)
      const slowDropsBefore = (await hub()).disconnects.slow ?? 0
      // The stalled socket never reads a byte: the server must let it go (as too slow) while reports flow.
      const together = await phase(agents, 2, async () => !(await hub()).streams.all)
      await until('the fast client has every report of the second run', () => ackedKeys.every(k => keys.has(k)), 30_000)
      const rssAfter = rssOf(srv.pid)
      const stats = await hub()
      const metrics = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${bearer}` } })).text()
      const slowCounted = Number(/^sse_disconnections_total\{reason="slow"\} (\d+)/m.exec(metrics)?.[1] ?? 0)
      const togetherLatencies = together.latencies()

      const fmt = (l: number[]) => `p50 ${percentile(l, 0.5).toFixed(0)} ms, p95 ${percentile(l, 0.95).toFixed(0)} ms`
      console.log(`[faults] stalled, slow and fast client: ${AGENTS} agents × ${BATCH} samples every 50 ms, client buffer ${BUFFER / 1024} KB; fast client alone ${alone.acked} reports in ${alone.seconds.toFixed(1)} s, ${fmt(aloneLatencies)}; beside a stalled and a slow (16 KB/s) one ${together.acked} reports in ${together.seconds.toFixed(1)} s, ${fmt(togetherLatencies)}; dropped as slow: ${stats.disconnects.slow - slowDropsBefore} (metrics: ${slowCounted}), the stalled one among them: ${!stats.streams.all}, the slow one still connected: ${stats.streams.reports === 2} (read ${(slow.bytes() / 1024).toFixed(0)} KB); server RSS ${(rssBefore / 2 ** 20).toFixed(0)} → ${(rssAfter / 2 ** 20).toFixed(0)} MB; fast client connections ${fast.connections()}`)

      expect(stats.disconnects.slow - slowDropsBefore).toBeGreaterThanOrEqual(1)
      expect(slowCounted).toBeGreaterThanOrEqual(1)
      expect(stats.streams.all ?? 0).toBe(0)
      // The fast one was never dropped and missed nothing.
      expect(fast.connections()).toBe(1)
      expect(ackedKeys.filter(k => !keys.has(k))).toEqual([])
      expect(received).toBe(keys.size)
      // Its latency unchanged, within what a shared 2-core machine's noise allows.
      expect(percentile(togetherLatencies, 0.5)).toBeLessThanOrEqual(2 * percentile(aloneLatencies, 0.5) + 50)
      expect(percentile(togetherLatencies, 0.95)).toBeLessThanOrEqual(2 * percentile(aloneLatencies, 0.95) + 200)
      // Bounded: the stalled client's unread stream is not kept (it alone received megabytes).
      expect(rssAfter - rssBefore).toBeLessThan(96 * 2 ** 20)
    }
    finally {
      others.forEach(o => o.socket.destroy())
      await fast.close()
    }
  }, 120_000)
})
