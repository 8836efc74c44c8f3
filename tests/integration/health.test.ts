import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import pkg from '../../package.json'
import { api, asAdmin, expectError, server } from './helpers'

describe('GET /api/health', () => {
  it('answers without credentials with status, version, database and uptime', async () => {
    const res = await api<{ status: string, version: string, database: { ok: boolean, driver: string }, uptime_seconds: number }>('GET', '/api/health')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(res.body).toEqual({
      status: 'ok',
      version: pkg.version,
      database: { ok: true, driver: server.driver },
      uptime_seconds: expect.any(Number),
      // The only instance on its database runs the periodic jobs.
      leader: true,
    })
    expect(Number.isInteger(res.body.uptime_seconds)).toBe(true)
    expect(res.body.uptime_seconds).toBeGreaterThanOrEqual(0)
    expect(res.body.uptime_seconds).toBeLessThan(3600)
  })

  it('sends the security headers every response carries', async () => {
    const res = await api('GET', '/api/health')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('referrer-policy')).toBe('no-referrer')
  })
})

describe('unknown API paths', () => {
  it('answer 404 JSON naming the path, not the page renderer', async () => {
    const res = await api('GET', '/api/v1/no-such-thing', { auth: await asAdmin() })
    const body = expectError(res, 404, 'GET /api/v1/no-such-thing')
    expect(body.statusMessage).toBe('Not Found')
    expect(res.headers.get('cache-control')).toBe('no-store')
  })

  it('answer 404 for other methods too', async () => {
    expectError(await api('POST', '/api/v1/nothing-here', { auth: await asAdmin(), json: {} }), 404, 'POST /api/v1/nothing-here')
  })

  it('need credentials like every other API path', async () => {
    expectError(await api('GET', '/api/v1/no-such-thing'), 401)
  })
})

describe('keep-alive connections', () => {
  /** Sends one request on `socket` and resolves with the raw head of its answer (the body is JSON, read up to its length). */
  function ask(socket: Socket): Promise<string> {
    return new Promise((resolve, reject) => {
      let text = ''
      const onData = (chunk: Buffer) => {
        text += chunk.toString('latin1')
        const end = text.indexOf('\r\n\r\n')
        const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? Number.NaN)
        if (end === -1 || text.length < end + 4 + length) return
        socket.off('data', onData).off('close', onClose)
        resolve(text.slice(0, end))
      }
      const onClose = () => reject(new Error(`the server closed the connection (answer so far: ${JSON.stringify(text.slice(0, 80))})`))
      socket.on('data', onData).once('close', onClose)
      socket.write(`GET /api/health HTTP/1.1\r\nHost: ${new URL(server.baseURL).host}\r\nConnection: keep-alive\r\n\r\n`)
    })
  }

  it('stay open well past Node\'s default 5 s, so a client reusing an idle socket is not reset', async () => {
    const { hostname, port } = new URL(server.baseURL)
    const socket = connect(Number(port), hostname)
    try {
      await once(socket, 'connect')
      const first = await ask(socket)
      expect(first).toMatch(/^HTTP\/1\.1 200/)
      expect(first).toMatch(/^keep-alive: timeout=65$/im)
      // Idle longer than Node's default keep-alive timeout, then the same socket again.
      await new Promise(r => setTimeout(r, 6000))
      expect(await ask(socket)).toMatch(/^HTTP\/1\.1 200/)
    }
    finally {
      socket.destroy()
    }
  }, 20_000)
})
