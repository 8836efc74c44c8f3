import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MeView } from '../../shared/contracts/rest'
import { expectError, sessionCookie, type ApiResponse } from './helpers'
import { startOwnServer } from './support/dedicated'
import type { RunningServer } from './support/server'

// Its own server: no NODEPULSE_ADMIN_PASSWORD, so it starts with no user at all (first run), and a
// login limit of 1 failure per username and 5 per client, which the shared server's tests must not trip.
// Every failed login costs a full scrypt, so on a busy machine these tests get more than the usual 30 s.
const MAX_ATTEMPTS = 1
const OWNER = { username: 'owner', password: 'first-admin-password' }
let srv: RunningServer
let stop: () => Promise<void>
beforeAll(async () => {
  ({ srv, stop } = await startOwnServer('first-run', { NODEPULSE_ADMIN_PASSWORD: '', NODEPULSE_LOGIN_MAX_ATTEMPTS: String(MAX_ATTEMPTS) }))
})
afterAll(() => stop?.())

async function call<T = unknown>(method: string, path: string, opts: { json?: unknown, cookie?: string } = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (opts.cookie) headers.cookie = opts.cookie
  if (opts.json !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${srv.info.baseURL}${path}`, { method, headers, body: opts.json === undefined ? undefined : JSON.stringify(opts.json) })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T, text }
}

describe('first run without NODEPULSE_ADMIN_PASSWORD', () => {
  it('opens setup, which creates the admin and logs them in, then closes for good', async () => {
    expect((await call('GET', '/api/v1/auth/setup')).body).toEqual({ setup_required: true })
    expectError(await call('GET', '/api/v1/auth/me'), 401)

    const created = await call<MeView>('POST', '/api/v1/auth/setup', { json: OWNER })
    expect(created.status, created.text).toBe(201)
    expect(created.body).toMatchObject({ username: OWNER.username, role: 'admin', via: 'session' })
    const cookie = sessionCookie(created.headers)
    expect(cookie, 'setup sets the session cookie').toMatch(/^nodepulse_session=.+/)

    const me = await call<MeView>('GET', '/api/v1/auth/me', { cookie })
    expect(me.status, me.text).toBe(200)
    expect(me.body).toEqual({ id: created.body.id, username: OWNER.username, role: 'admin', via: 'session', valkey: false })
    // An admin indeed: it may create an API token.
    expect((await call('POST', '/api/v1/tokens', { cookie, json: { name: 'first', role: 'viewer' } })).status).toBe(201)

    expect((await call('GET', '/api/v1/auth/setup')).body).toEqual({ setup_required: false })
    expectError(await call('POST', '/api/v1/auth/setup', { json: { username: 'intruder', password: 'intruder-password' } }), 403, 'Setup is already complete')
    expect((await call<MeView[]>('GET', '/api/v1/users', { cookie })).body.map(u => u.username)).toEqual([OWNER.username])
    expect((await call('POST', '/api/v1/auth/login', { json: OWNER })).status).toBe(200)
  }, 90_000)
})

describe('login limit per client', () => {
  it(`stops one client after ${5 * MAX_ATTEMPTS} failures across usernames, even for the right password`, async () => {
    // Each name fails once: only a limit on the client as a whole can stop this.
    for (let i = 0; i < 5 * MAX_ATTEMPTS; i++) {
      expectError(await call('POST', '/api/v1/auth/login', { json: { username: `sprayed-${i}`, password: 'Winter2025!' } }), 401, 'Invalid username or password')
    }
    for (const attempt of [{ username: 'sprayed-next', password: 'Winter2025!' }, OWNER]) {
      const res = await call('POST', '/api/v1/auth/login', { json: attempt })
      expectError(res, 429, 'Too many failed logins')
      const retryAfter = Number(res.headers.get('retry-after'))
      expect(retryAfter).toBeGreaterThan(0)
      expect(retryAfter).toBeLessThanOrEqual(15 * 60)
    }
  }, 90_000)
})
