/**
 * Seed 001's limits: NODEPULSE_SSE_MAX_CLIENTS answers 503 past it, and a reader that stops
 * reading is dropped once NODEPULSE_SSE_CLIENT_BUFFER bytes wait for it, while the server's memory
 * stays flat.
 *
 * Its own server: at most 3 stream clients, a 64 KiB client buffer, stats every 0.1 s, and enough
 * nodes that one stats message is tens of kilobytes, so a stalled socket fills within seconds.
 */
import net from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { StatsMessage } from '../../shared/contracts/seed001'
import { dataOf } from './support/channels'
import { startDedicated, sleep, until, type Dedicated } from './support/dedicated'
import { openStream, type SseMessage, type SseStream } from './sse'

const MAX_CLIENTS = 3
const CLIENT_BUFFER = 65_536

let d: Dedicated
beforeAll(async () => {
  d = await startDedicated('limits', {
    NODEPULSE_SSE_MAX_CLIENTS: String(MAX_CLIENTS),
    NODEPULSE_SSE_CLIENT_BUFFER: String(CLIENT_BUFFER),
    NODEPULSE_STREAM_STATS_INTERVAL: '0.1',
    NODEPULSE_SAMPLE_INTERVAL: '3600',
  })
})
afterAll(() => d?.stop())

let open: SseStream[] = []
let sockets: net.Socket[] = []
afterEach(async () => {
  open.forEach(s => s.close())
  sockets.forEach(s => s.destroy())
  open = []
  sockets = []
  await until('no stream clients left', async () => (await d.hubStats()).total_clients === 0, 5000)
})
async function stream(path: string): Promise<SseStream> {
  const s = await openStream(path, { bearer: d.bearer }, {}, d.baseURL)
  open.push(s)
  return s
}
const named = (event: string) => (m: SseMessage) => m.event === event

/**
 * A raw client that sends its request for `path` and reads not a byte of the answer until
 * `readRest()`, which then takes what reached it and resolves once the server has hung up.
 */
function stalledReader(path: string) {
  const { port } = new URL(d.baseURL)
  const socket = net.connect(Number(port), '127.0.0.1')
  sockets.push(socket)
  socket.pause()
  let closed = false
  socket.on('close', () => (closed = true))
  socket.on('error', () => {})
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${d.bearer}\r\nAccept: text/event-stream\r\n\r\n`)
  return {
    async readRest(): Promise<string> {
      const chunks: Buffer[] = []
      socket.on('data', (c: Buffer) => chunks.push(c))
      socket.resume()
      await until('the stalled socket closed', () => closed, 5000)
      return Buffer.concat(chunks).toString('utf8')
    },
  }
}

/** Registers agents until there are `count` of them, a few requests at a time. */
async function agents(count: number): Promise<void> {
  const existing = (await d.call<unknown[]>('GET', '/api/v1/nodes')).body.length - 1
  const todo = Array.from({ length: Math.max(0, count - existing) }, (_, i) => existing + i)
  for (let i = 0; i < todo.length; i += 10) {
    // Long (200-character) hostnames make every node's entry in a stats message bigger, so fewer nodes are needed.
    await Promise.all(todo.slice(i, i + 10).map(n => d.createAgent(`limits-node-${String(n).padStart(4, '0')}.${'rack-a.'.repeat(26)}cluster.example`.slice(0, 200))))
  }
}

describe('NODEPULSE_SSE_MAX_CLIENTS', () => {
  it(`the ${MAX_CLIENTS + 1}th stream gets 503 JSON with Retry-After; after one closes a new one is accepted`, async () => {
    const streams: SseStream[] = []
    for (const p of ['/stream/stats', '/stream/logs', '/stream/all']) {
      const s = await stream(p)
      expect(s.status, p).toBe(200)
      await s.next(named('connected'))
      streams.push(s)
    }
    expect((await d.hubStats()).total_clients).toBe(MAX_CLIENTS)
    for (const p of ['/stream/reports', '/stream/heartbeat', '/api/v1/metrics/nodes/stats/stream']) {
      const res = await d.call('GET', p, { headers: { accept: 'text/event-stream' } })
      expect(res.status, p).toBe(503)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(res.headers.get('retry-after')).toBe('10')
      expect(res.body.statusCode).toBe(503)
      expect(res.body.message).toContain('NODEPULSE_SSE_MAX_CLIENTS')
    }
    // Refused requests never became clients; REST keeps answering.
    expect((await d.hubStats()).total_clients).toBe(MAX_CLIENTS)
    expect((await d.call('GET', '/api/realtime/metrics')).status).toBe(200)

    streams[1]!.close()
    await until('a free slot', async () => (await d.hubStats()).total_clients === MAX_CLIENTS - 1, 3000)
    const again = await stream('/stream/reports')
    expect(again.status).toBe(200)
    expect((await again.next(() => true)).event).toBe('connected')
    expect((await d.call('GET', '/stream/heartbeat', { headers: { accept: 'text/event-stream' } })).status).toBe(503)
  })

  it(`${MAX_CLIENTS * 3} streams opened at once: exactly ${MAX_CLIENTS} accepted`, async () => {
    const tries = await Promise.all(Array.from({ length: MAX_CLIENTS * 3 }, () => stream('/stream/heartbeat')))
    expect(tries.map(s => s.status).sort()).toEqual([...Array(MAX_CLIENTS).fill(200), ...Array(MAX_CLIENTS * 2).fill(503)])
    expect((await d.hubStats()).total_clients).toBe(MAX_CLIENTS)
  })
})

describe('a reader that stops reading', () => {
  it('is dropped as slow once NODEPULSE_SSE_CLIENT_BUFFER bytes wait, while a reader that keeps up stays; memory stays flat', async () => {
    await agents(120)
    const healthy = await stream('/stream/stats')
    await healthy.next(named('connected'))
    const sample = await healthy.next(named('stats'), 2000)
    const size = Buffer.byteLength(sample.data!)
    expect(size, 'one stats message is a good part of the buffer').toBeGreaterThan(CLIENT_BUFFER / 3)
    expect(size, 'one stats message fits the buffer').toBeLessThan(CLIENT_BUFFER)
    expect(dataOf<StatsMessage>(sample).total_nodes).toBeGreaterThanOrEqual(121)

    const before = await d.hubStats()
    const rssBefore = d.rss()
    const stalled = stalledReader('/stream/stats')
    await until('the stalled client connected', async () => (await d.hubStats()).subscriptions.stats === 2, 3000)

    let rssMax = rssBefore
    const started = Date.now()
    await until('the stalled client dropped as slow', async () => {
      rssMax = Math.max(rssMax, d.rss())
      const s = await d.hubStats()
      return s.disconnects.slow === before.disconnects.slow + 1
    }, 30_000)
    const tookMs = Date.now() - started
    console.info(`[channels-limits] the stalled reader was dropped after ${tookMs} ms; server RSS ${(rssBefore / 2 ** 20).toFixed(0)} MB before, at most ${(rssMax / 2 ** 20).toFixed(0)} MB during`)
    const after = await d.hubStats()
    expect(after.disconnects).toEqual({ ...before.disconnects, slow: before.disconnects.slow + 1 })
    expect(after.total_clients).toBe(1)
    expect(after.streams).toEqual({ stats: 1 })
    expect(rssMax - rssBefore, `RSS grew by ${((rssMax - rssBefore) / 2 ** 20).toFixed(1)} MB while the reader stalled for ${tookMs} ms`).toBeLessThan(50 * 2 ** 20)

    // The server hung up on it: once it reads again it gets what was in flight, then the end.
    await stalled.readRest()
    // The reader that kept up is still served, fresh.
    const n = healthy.messages.length
    await healthy.next(named('stats'), 1000)
    await until('more stats for the healthy reader', () => healthy.messages.length >= n + 3, 2000)
    expect(Date.now() - healthy.messages.at(-1)!.receivedAt).toBeLessThan(500)
  })

  it('a reader dropped as slow reconnects with the last id it read and gets every report it missed, once and in order', async () => {
    await agents(120)
    const agent = await d.createAgent('limits-replay')
    const before = await d.hubStats()
    const stalled = stalledReader('/stream/all')
    await until('the stalled client connected', async () => (await d.hubStats()).streams.all === 1, 3000)
    // Reports arrive while it does not read; then the stats snapshots fill its buffer and it is dropped.
    const cpus = [11, 12, 13, 14, 15]
    for (const cpu of cpus) await d.report(agent, { cpu_percent: cpu, disk_percent: 1 })
    await until('the stalled client dropped as slow', async () => (await d.hubStats()).disconnects.slow === before.disconnects.slow + 1, 30_000)
    for (const cpu of [16, 17]) await d.report(agent, { cpu_percent: cpu, disk_percent: 1 })

    // It reads what reached it before the server hung up: whole messages each end with a blank line.
    const received = [...(await stalled.readRest()).matchAll(/id: (\S+)\nevent: (\w+)\ndata: (.*)\n\n/g)]
      .map(([, id, event, data]) => ({ id, event, data }))
    const lastId = received.at(-1)!.id!
    const got = (list: { event?: string, data?: string }[]) => list.filter(m => m.event === 'reports')
      .map(m => JSON.parse(m.data!) as { node_id: number, cpu_percent: number }).filter(r => r.node_id === agent.id).map(r => r.cpu_percent)
    const readBefore = got(received)

    const again = await openStream('/stream/all', { bearer: d.bearer }, { 'last-event-id': lastId }, d.baseURL)
    open.push(again)
    await until('every report through the reconnect', () => [...readBefore, ...got(again.messages)].length >= cpus.length + 2, 5000)
    await sleep(300)
    expect([...readBefore, ...got(again.messages)], `read ${readBefore.length} before the drop (up to ${lastId}), then resumed`).toEqual([...cpus, 16, 17])
    expect(again.messages.some(named('reset')), 'no reset: the position is still kept').toBe(false)
  })

  it('a reader that keeps up is not dropped by the snapshots /stream/all sends on connect (each fits the buffer, together they do not)', async () => {
    await agents(120)
    const probe = await stream('/stream/nodes')
    const nodesSize = Buffer.byteLength((await probe.next(named('nodes'), 2000)).data!)
    const statsSize = Buffer.byteLength((await d.call('GET', '/api/realtime/metrics')).text)
    probe.close()
    expect(nodesSize, 'a nodes message fits the buffer').toBeLessThan(CLIENT_BUFFER)
    expect(statsSize, 'a stats message fits the buffer').toBeLessThan(CLIENT_BUFFER)
    expect(nodesSize + statsSize, 'the two together do not').toBeGreaterThan(CLIENT_BUFFER)
    await until('the probe gone', async () => (await d.hubStats()).total_clients === 0, 3000)

    const before = await d.hubStats()
    const s = await stream('/stream/all')
    expect(s.status).toBe(200)
    await until('ten stats messages', () => s.messages.filter(named('stats')).length >= 10, 2000).catch(() => {})
    const after = await d.hubStats()
    expect(after.disconnects.slow, `dropped as slow although it reads everything (it received ${s.messages.length} messages: ${s.messages.map(m => m.event ?? 'comment').join(', ')})`).toBe(before.disconnects.slow)
    expect(s.messages.filter(named('stats')).length).toBeGreaterThanOrEqual(10)
    expect(s.messages.filter(named('nodes')).length).toBeGreaterThanOrEqual(1)
  })

  it('a reader that keeps up is not dropped when one stats message is bigger than the buffer', async () => {
    await agents(170)
    const snapshot = await d.call('GET', '/api/realtime/metrics')
    expect(snapshot.text.length, 'one stats message is bigger than the buffer').toBeGreaterThan(CLIENT_BUFFER)
    const before = await d.hubStats()
    const s = await stream('/stream/stats')
    expect(s.status).toBe(200)
    await until('five stats messages', () => s.messages.filter(named('stats')).length >= 5, 2000).catch(() => {})
    const stats = s.messages.filter(named('stats'))
    const after = await d.hubStats()
    expect(after.disconnects.slow, `dropped as slow although it reads everything (it received ${s.messages.length} messages, ${stats.length} of them stats)`).toBe(before.disconnects.slow)
    expect(stats.length).toBeGreaterThanOrEqual(5)
  })
})

describe('hub stats after the limits', () => {
  it('count back to 0 clients', async () => {
    // The last test's streams close as its clients hang up: wait for that, not for a fixed time.
    await until('every client gone', async () => (await d.hubStats()).total_clients === 0, 5000)
    const s = await d.hubStats()
    expect(s.total_clients).toBe(0)
    expect(s.subscriptions).toEqual({ stats: 0, logs: 0, events: 0, nodes: 0, reports: 0, heartbeat: 0 })
    expect(s.streams).toEqual({})
  })
})
