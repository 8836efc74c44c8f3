import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createHub, encodeSse, type Hub } from '../../server/services/streams/hub'

/** A loopback HTTP server whose every request becomes a hub subscriber on `topic`. */
async function serve(hub: Hub, topic = 't') {
  const server = http.createServer((req, res) => hub.subscribe(req, res, topic, [encodeSse({ event: 'connected' })]))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return { server, url: `http://127.0.0.1:${port}/` }
}

/** Opens a stream and collects its raw text. */
function connect(url: string) {
  const state = { text: '', res: undefined as http.IncomingMessage | undefined, req: undefined as http.ClientRequest | undefined }
  const ready = new Promise<void>((resolve) => {
    state.req = http.get(url, (res) => {
      state.res = res
      res.setEncoding('utf8')
      res.on('data', (c: string) => (state.text += c))
      resolve()
    })
  })
  return { state, ready }
}

const until = async (check: () => boolean, ms = 2000) => {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise(r => setTimeout(r, 10))
  }
}

let cleanup: (() => void)[] = []
afterEach(() => {
  cleanup.forEach(f => f())
  cleanup = []
})

describe('encodeSse', () => {
  it('frames one JSON data line with optional id, event and retry', () => {
    expect(encodeSse({ a: 1 }).toString()).toBe('data: {"a":1}\n\n')
    expect(encodeSse({ a: 1 }, { id: '5-1', event: 'stats', retryMs: 2000 }).toString()).toBe('retry: 2000\nid: 5-1\nevent: stats\ndata: {"a":1}\n\n')
  })

  it('keeps a hostile hostname inside the data line', () => {
    const text = encodeSse({ hostname: 'a\n\nevent: x\ndata: forged' }, { event: 'st\r\nats', id: '1\n2' }).toString()
    expect(text.split('\n\n')).toHaveLength(2)
    expect(text).toContain('event: stats\n')
    expect(text).toContain('id: 12\n')
    expect(text.match(/^data: /gm)).toHaveLength(1)
  })
})

describe('hub', () => {
  it('lets go at once of a subscriber whose caller hung up before it subscribed (its close event has passed)', async () => {
    const hub = createHub({ heartbeatMs: 60_000, maxBufferBytes: 1 << 20 })
    const heard: number[] = []
    hub.onTopicChange((_topic, n) => heard.push(n))
    const server = http.createServer((req, res) => {
      // As after an awaited authentication: the subscription comes after the response closed.
      res.once('close', () => {
        const client = hub.subscribe(req, res, 'late', [encodeSse({ event: 'connected' })])
        hub.send(client, encodeSse({ n: 1 }))
      })
      req.socket.destroy()
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    cleanup.push(() => hub.close(), () => server.close())
    const req = http.get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
    req.on('error', () => {})
    await until(() => heard.length === 2)
    expect(heard).toEqual([1, 0])
    expect(hub.count('late')).toBe(0)
    expect(hub.stats()).toMatchObject({ total_clients: 0, disconnects: { client: 1 } })
  })

  it('writes the same message to every subscriber and forgets clients that leave', async () => {
    const hub = createHub({ heartbeatMs: 60_000, maxBufferBytes: 1 << 20 })
    const { server, url } = await serve(hub)
    cleanup.push(() => hub.close(), () => server.close())
    const a = connect(url)
    const b = connect(url)
    await Promise.all([a.ready, b.ready])
    await until(() => hub.count('t') === 2)
    hub.publish('t', encodeSse({ n: 1 }))
    await until(() => a.state.text.includes('{"n":1}') && b.state.text.includes('{"n":1}'))
    expect(a.state.text).toBe('data: {"event":"connected"}\n\ndata: {"n":1}\n\n')
    a.state.req!.destroy()
    await until(() => hub.count('t') === 1)
    b.state.req!.destroy()
    await until(() => hub.count('t') === 0)
    expect(hub.stats()).toMatchObject({ total_clients: 0, subscriptions: {}, disconnects: { client: 2 } })
  })

  it('sends heartbeat comments to every client from one shared timer, started with the hub and none per client', async () => {
    const intervals = vi.spyOn(globalThis, 'setInterval')
    const timeouts = vi.spyOn(globalThis, 'setTimeout')
    cleanup.push(() => intervals.mockRestore(), () => timeouts.mockRestore())
    const hub = createHub({ heartbeatMs: 50, maxBufferBytes: 1 << 20 })
    expect(intervals).toHaveBeenCalledTimes(1)
    const { server, url } = await serve(hub)
    cleanup.push(() => hub.close(), () => server.close())
    const made = { intervals: intervals.mock.calls.length, timeouts: timeouts.mock.calls.length }
    const clients = Array.from({ length: 5 }, () => connect(url))
    await Promise.all(clients.map(c => c.ready))
    await until(() => hub.count('t') === 5)
    const beats = (c: (typeof clients)[number]) => (c.state.text.match(/: heartbeat\n\n/g) ?? []).length
    await until(() => clients.every(c => beats(c) >= 2))
    // Five subscribers and several beats later, the hub has set no timer of its own beyond the one.
    expect(intervals.mock.calls.length).toBe(made.intervals)
    expect(intervals.mock.calls.filter(([fn]) => fn.name === 'beat')).toHaveLength(1)
    clients.forEach(c => c.state.req!.destroy())
  })

  it('sends a topic its own heartbeat message instead of the comment, the same bytes to each of its clients', async () => {
    const hub = createHub({ heartbeatMs: 50, maxBufferBytes: 1 << 20 })
    const own = await serve(hub, 'own')
    const plain = await serve(hub, 'plain')
    cleanup.push(() => hub.close(), () => own.server.close(), () => plain.server.close())
    // Set before anyone connects: a beat between connecting and setting it would send the comment.
    let builds = 0
    hub.setHeartbeat(t => t === 'own', () => encodeSse({ beat: ++builds }, { event: 'heartbeat' }), { channel: 'heartbeat' })
    const [a, b, c] = [connect(own.url), connect(own.url), connect(plain.url)]
    await Promise.all([a.ready, b.ready, c.ready])
    await until(() => hub.count('own') === 2)
    const beats = (text: string, pattern: RegExp) => (text.match(pattern) ?? []).length
    await until(() => beats(a.state.text, /event: heartbeat\n/g) >= 2 && beats(b.state.text, /event: heartbeat\n/g) >= 2 && beats(c.state.text, /: heartbeat\n\n/g) >= 2)
    // One build per beat, the same bytes to both: the beat both got last is the same one.
    const last = (text: string) => text.match(/event: heartbeat\ndata: \{"beat":(\d+)\}/g)!.slice(-1)[0]
    await until(() => last(a.state.text) === last(b.state.text))
    expect(a.state.text + b.state.text).not.toMatch(/^: heartbeat$/m)
    expect(c.state.text).not.toContain('event: heartbeat')
    expect(hub.stats().events_sent_by_channel.heartbeat).toBeGreaterThanOrEqual(4)
  })

  it('ends the streams whose credential no longer holds, on the heartbeat', async () => {
    const hub = createHub({
      heartbeatMs: 50, maxBufferBytes: 1 << 20,
      credentialOf: req => req.url!.slice(1), liveCredentials: async open => new Set([...open].filter(c => c !== 'gone')),
    })
    const { server, url } = await serve(hub)
    cleanup.push(() => hub.close(), () => server.close())
    const [kept, gone] = [connect(`${url}kept`), connect(`${url}gone`)]
    await Promise.all([kept.ready, gone.ready])
    await until(() => hub.stats().disconnects.revoked === 1)
    expect(hub.count('t')).toBe(1)
    kept.state.req!.destroy()
  })

  it('drops a subscriber that stops reading once its unsent data passes the buffer', async () => {
    const hub = createHub({ heartbeatMs: 60_000, maxBufferBytes: 256 * 1024 })
    const { server, url } = await serve(hub)
    cleanup.push(() => hub.close(), () => server.close())
    const a = connect(url)
    await a.ready
    a.state.res!.pause()
    await until(() => hub.count('t') === 1)
    const big = encodeSse({ blob: 'x'.repeat(64 * 1024) })
    for (let i = 0; i < 200 && hub.count('t') === 1; i++) {
      hub.publish('t', big)
      await new Promise(r => setImmediate(r))
    }
    expect(hub.count('t')).toBe(0)
    expect(hub.stats().disconnects.slow).toBe(1)
    a.state.req!.destroy()
  })

  it('keeps only the newest snapshot for a socket that has not drained', async () => {
    const hub = createHub({ heartbeatMs: 60_000, maxBufferBytes: 64 << 20 })
    const { server, url } = await serve(hub)
    cleanup.push(() => hub.close(), () => server.close())
    const a = connect(url)
    await a.ready
    a.state.res!.pause()
    const filler = encodeSse({ blob: 'y'.repeat(512 * 1024) })
    for (let i = 0; i < 40; i++) hub.publishSnapshot('t', filler)
    for (let i = 0; i < 50; i++) hub.publishSnapshot('t', encodeSse({ seq: i }))
    a.state.res!.resume()
    await until(() => a.state.text.includes('"seq":49'), 5000)
    // Snapshots 0..48 were superseded while the socket was full: none of them was sent.
    expect(a.state.text).not.toMatch(/"seq":(\d|[1-3]\d|4[0-8])\}/)
    a.state.req!.destroy()
  })

  it('drops a snapshot client whose socket has not drained within the stall bound, and keeps a reading one', async () => {
    const hub = createHub({ heartbeatMs: 50, maxBufferBytes: 64 << 20, stallMs: 300 })
    const { server, url } = await serve(hub)
    cleanup.push(() => hub.close(), () => server.close())
    const [stalled, reading] = [connect(url), connect(url)]
    await Promise.all([stalled.ready, reading.ready])
    await until(() => hub.count('t') === 2)
    stalled.state.res!.pause()
    const filler = encodeSse({ blob: 'y'.repeat(512 * 1024) })
    // Snapshots keep at most one queued per client, so the stalled one never passes the 64 MiB buffer.
    for (let i = 0; i < 40 && hub.stats().disconnects.slow === 0; i++) {
      hub.publishSnapshot('t', filler)
      await new Promise(r => setTimeout(r, 20))
    }
    await until(() => hub.stats().disconnects.slow === 1, 5000)
    expect(hub.count('t')).toBe(1)
    expect(reading.state.text.length).toBeGreaterThan(512 * 1024)
    reading.state.req!.destroy()
    stalled.state.req!.destroy()
  })

  it('refuses a stream past the per-owner cap with 429 when the slot is taken, and frees the slot when a stream ends', async () => {
    const hub = createHub({ heartbeatMs: 60_000, maxBufferBytes: 1 << 20, maxClientsPerOwner: 2, ownerOf: req => req.url!.slice(1) })
    const server = http.createServer((req, res) => {
      try {
        hub.subscribe(req, res, 't')
      }
      catch (error) {
        res.writeHead((error as { statusCode: number }).statusCode).end()
      }
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    cleanup.push(() => hub.close(), () => server.close())
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
    const [a, b] = [connect(`${base}alice`), connect(`${base}alice`)]
    await Promise.all([a.ready, b.ready])
    expect(hub.ownerHasCapacity('alice')).toBe(false)
    const third = connect(`${base}alice`)
    await third.ready
    expect(third.state.res!.statusCode).toBe(429)
    const bob = connect(`${base}bob`)
    await bob.ready
    expect(bob.state.res!.statusCode).toBe(200)
    a.state.req!.destroy()
    await until(() => hub.ownerHasCapacity('alice'))
    const again = connect(`${base}alice`)
    await again.ready
    expect(again.state.res!.statusCode).toBe(200)
    for (const c of [b, bob, again]) c.state.req!.destroy()
  })

  it('ends matching topics with a last message', async () => {
    const hub = createHub({ heartbeatMs: 60_000, maxBufferBytes: 1 << 20 })
    const { server, url } = await serve(hub, 'node-stats:node:7:5')
    cleanup.push(() => hub.close(), () => server.close())
    const a = connect(url)
    await a.ready
    await until(() => hub.count('node-stats:node:7:5') === 1)
    const ended = once(a.state.res!, 'end')
    hub.endTopics(t => t.startsWith('node-stats:node:7:'), encodeSse({ event: 'deleted' }))
    await ended
    expect(a.state.text).toContain('data: {"event":"deleted"}')
    expect(hub.stats().disconnects.ended).toBe(1)
  })
})
