import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { SseMessage } from '../../cli/top/sse'
import { followStream, type StreamState } from '../../cli/top/stream'

let server: Server | undefined
afterEach(() => new Promise<void>(r => (server ? server.close(() => r()) : r())))

/** A server that answers connection n (from 0) with `handle(n, res, headers)`. */
async function serve(handle: (n: number, res: ServerResponse, headers: IncomingHttpHeaders) => void): Promise<URL> {
  let n = 0
  server = createServer((req, res) => handle(n++, res, req.headers))
  await new Promise<void>(r => server!.listen(0, '127.0.0.1', r))
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/stream`)
}

function follow(url: URL, until: (messages: SseMessage[]) => boolean) {
  const stop = new AbortController()
  const messages: SseMessage[] = []
  const states: StreamState[] = []
  const end = followStream({
    url, headers: { authorization: 'Bearer t' }, signal: stop.signal, idleMs: 2000, minDelayMs: 10, maxDelayMs: 50,
    onMessage: (m) => {
      messages.push(m)
      if (until(messages)) stop.abort()
    },
    onState: s => states.push(s),
  })
  return { end, messages, states, stop }
}

describe('following a stream', () => {
  it('reconnects when the stream ends, sending Last-Event-ID when the stream gave ids', async () => {
    const seen: IncomingHttpHeaders[] = []
    const url = await serve((n, res, headers) => {
      seen.push(headers)
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end(`: heartbeat\n\nid: ${n + 10}\ndata: ${n}\n\n`)
    })
    const { end, messages, states } = follow(url, m => m.length === 3)
    expect(await end).toEqual({ kind: 'stopped' })
    expect(messages.map(m => m.data)).toEqual(['0', '1', '2'])
    expect(seen[0]!['last-event-id']).toBeUndefined()
    expect(seen.slice(1).map(h => h['last-event-id'])).toEqual(['10', '11'])
    expect(seen[0]!.authorization).toBe('Bearer t')
    expect(states.find(s => s.state === 'retrying')).toMatchObject({ reason: 'the server closed the stream' })
  })

  it('stops at 401 and 403 with the server\'s message', async () => {
    for (const status of [401, 403]) {
      const url = await serve((_, res) => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ statusCode: status, message: 'Invalid or expired token' }))
      })
      expect(await follow(url, () => false).end).toEqual({ kind: 'refused', status, message: 'Invalid or expired token' })
      await new Promise<void>(r => server!.close(() => r()))
      server = undefined
    }
  })

  it('retries a 404 and a non-stream answer, saying what is wrong, and backs off', async () => {
    const url = await serve((n, res) => {
      if (n === 0) return res.writeHead(404).end('not here')
      if (n === 1) return res.writeHead(200, { 'content-type': 'text/html' }).end('<html>')
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: ok\n\n')
    })
    const { end, states } = follow(url, () => true)
    expect(await end).toEqual({ kind: 'stopped' })
    const retries = states.filter(s => s.state === 'retrying')
    expect(retries.map(s => s.reason)).toEqual([
      'the server answered 404 (not here): is --server the NodePulse address?',
      'the server answered text/html, not an event stream: is --server the NodePulse address?',
    ])
    expect(retries.map(s => s.attempt)).toEqual([1, 2])
  })

  it('takes a silent connection as dead', async () => {
    const url = await serve((n, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      if (n > 0) res.write('data: back\n\n')
    })
    const stop = new AbortController()
    const states: StreamState[] = []
    const end = followStream({ url, headers: {}, signal: stop.signal, idleMs: 100, minDelayMs: 10, onMessage: () => stop.abort(), onState: s => states.push(s) })
    expect(await end).toEqual({ kind: 'stopped' })
    expect(states.find(s => s.state === 'retrying')).toMatchObject({ reason: expect.stringMatching(/^nothing from the server for/) })
  })
})
