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
