import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { classify, clockSkewMs, createClient, invalidSampleIndexes, parseRetryAfter } from '../../cli/agent/client'

const json = (body: unknown) => JSON.stringify(body)
const err = (statusCode: number, message: string) => json({ statusCode, message })

describe('classify: what an answer means for the agent', () => {
  const h = (init: Record<string, string> = {}) => init

  it('2xx is sent', () => {
    expect(classify(200, h(), json({ stored: 1 }), 7)).toEqual({ kind: 'ok' })
  })

  it('401 says the token is wrong, 403 that it belongs to another node', () => {
    const wrong = classify(401, h(), err(401, 'Invalid agent token'), 7)
    expect(wrong).toMatchObject({ kind: 'auth', status: 401 })
    expect(wrong.kind === 'auth' && wrong.message).toMatch(/token.*wrong/)
    const other = classify(403, h(), err(403, 'This token belongs to another node and cannot report for node 7'), 7)
    expect(other).toMatchObject({ kind: 'auth', status: 403 })
    expect(other.kind === 'auth' && other.message).toMatch(/belongs to another node, not node 7/)
  })

  it('404 is an unknown node', () => {
    expect(classify(404, h(), err(404, 'Node 7 not found'), 7)).toMatchObject({ kind: 'unknown-node', message: expect.stringContaining('no node 7') })
  })

  it('429, 503 and other 5xx are retried, honouring Retry-After', () => {
    expect(classify(429, h({ 'retry-after': '7' }), err(429, 'slow down'), 1)).toMatchObject({ kind: 'retry', retryAfterMs: 7000 })
    expect(classify(503, h({ 'retry-after': '2' }), err(503, 'starting'), 1)).toMatchObject({ kind: 'retry', retryAfterMs: 2000, reason: expect.stringContaining('503') })
    expect(classify(500, h(), 'oops', 1)).toMatchObject({ kind: 'retry', retryAfterMs: undefined })
    expect(classify(502, h(), '<html>bad gateway</html>', 1)).toMatchObject({ kind: 'retry' })
  })

  it('any other 4xx is refused for good (sending it again would loop)', () => {
    expect(classify(422, h(), err(422, 'timestamp: is more than 5 minutes in the future'), 1)).toEqual({ kind: 'refused', status: 422, message: '422 timestamp: is more than 5 minutes in the future' })
    expect(classify(413, h(), err(413, 'too large'), 1)).toMatchObject({ kind: 'refused', status: 413 })
    expect(classify(400, h(), 'not json', 1)).toMatchObject({ kind: 'refused', status: 400 })
  })
})

describe('parseRetryAfter and clockSkewMs', () => {
  const now = Date.UTC(2025, 5, 1, 12, 0, 0)
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('30', now)).toBe(30_000)
    expect(parseRetryAfter(new Date(now + 5000).toUTCString(), now)).toBe(5000)
    expect(parseRetryAfter(new Date(now - 5000).toUTCString(), now)).toBe(0)
    expect(parseRetryAfter(null, now)).toBeUndefined()
    expect(parseRetryAfter('soon', now)).toBeUndefined()
  })

  it('measures how far the local clock is ahead of the server\'s Date', () => {
    expect(clockSkewMs(new Date(now - 600_000).toUTCString(), now)).toBe(600_000)
    expect(clockSkewMs(new Date(now + 60_000).toUTCString(), now)).toBe(-60_000)
    expect(clockSkewMs(null, now)).toBeUndefined()
  })
})

describe('createClient', () => {
  it('posts with the node token and its User-Agent, and reads the Date header', async () => {
    let seen: { url?: string, headers?: IncomingHttpHeaders, body?: string } = {}
    const server = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        seen = { url: req.url, headers: req.headers, body }
        res.writeHead(200, { 'content-type': 'application/json', 'date': new Date(Date.now() - 3_600_000).toUTCString() })
        res.end(json({ node_id: 7, accepted: 1, stored: 1, duplicates: 0, last_seen: new Date().toISOString() }))
      })
    })
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as AddressInfo
    try {
      const client = createClient({ server: `http://127.0.0.1:${port}`, nodeId: 7, token: 'npn_x' }, '1.2.3')
      const result = await client.sendStats('{"cpu_percent":1,"disk_percent":2}', 2000)
      expect(result.kind).toBe('ok')
      expect(result.skewMs).toBeGreaterThan(3_500_000)
      expect(seen.url).toBe('/api/v1/nodes/7/stats')
      expect(seen.headers).toMatchObject({ 'authorization': 'Bearer npn_x', 'user-agent': 'nodepulse-agent/1.2.3', 'content-type': 'application/json' })
      expect(seen.body).toBe('{"cpu_percent":1,"disk_percent":2}')
      await client.sendEvent({ event_type: 'error_report', message: 'm' }, 2000)
      expect(seen.url).toBe('/api/v1/nodes/7/events')
    }
    finally {
      server.close()
    }
  })

  it('turns no connection and no answer in time into a retry with the reason', async () => {
    const refused = await createClient({ server: 'http://127.0.0.1:9', nodeId: 1, token: 't' }, 'v').sendStats('{}', 2000)
    expect(refused).toMatchObject({ kind: 'retry', reason: expect.stringContaining('ECONNREFUSED') })
    const silent = createServer(() => {})
    await new Promise<void>(r => silent.listen(0, '127.0.0.1', r))
    try {
      const { port } = silent.address() as AddressInfo
      const slow = await createClient({ server: `http://127.0.0.1:${port}`, nodeId: 1, token: 't' }, 'v').sendStats('{}', 200)
      expect(slow).toMatchObject({ kind: 'retry', reason: 'ETIMEDOUT: no answer in time' })
    }
    finally {
      silent.closeAllConnections()
      silent.close()
    }
  })
})

describe('a 422 naming samples of a batch', () => {
  // The error body server/error.ts sends for a body that fails the contract (server/utils/http.ts).
  const body = (paths: string[]) => JSON.stringify({ statusCode: 422, statusMessage: 'Unprocessable Entity', message: 'Invalid body: …', data: { issues: paths.map(path => ({ path, message: 'bad' })) } })

  it('lists the samples the issues name, once each, in order', () => {
    expect(invalidSampleIndexes(body(['samples.12.timestamp', 'samples.3.cpu_percent', 'samples.12.detail.load.1m']))).toEqual([3, 12])
    expect(classify(422, {}, body(['samples.0.timestamp']), 1)).toMatchObject({ kind: 'refused', status: 422, invalidSamples: [0] })
  })

  it('names none when any issue is not about one sample, or the body is not that shape', () => {
    expect(invalidSampleIndexes(body(['samples.1.timestamp', 'samples']))).toBeUndefined()
    expect(invalidSampleIndexes(body(['cpu_percent']))).toBeUndefined()
    expect(invalidSampleIndexes(body([]))).toBeUndefined()
    expect(invalidSampleIndexes('not json')).toBeUndefined()
    expect(invalidSampleIndexes(JSON.stringify({ message: 'samples.1.timestamp: bad' }))).toBeUndefined()
    expect(classify(422, {}, 'x', 1)).not.toHaveProperty('invalidSamples')
  })
})
