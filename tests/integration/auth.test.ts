import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import type { MeView, SessionState } from '../../shared/contracts/rest'
import { api, asAdmin, createApiToken, createUser, expectError, login, openStream, server, sessionCookie, unique } from './helpers'

describe('first-run setup', () => {
  it('GET /api/v1/auth/setup reports no setup needed (the admin comes from the environment)', async () => {
    const res = await api<{ setup_required: boolean }>('GET', '/api/v1/auth/setup')
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ setup_required: false })
  })

  it('POST /api/v1/auth/setup is closed once a user exists (403) and creates nobody', async () => {
    const username = unique('intruder')
    const res = await api('POST', '/api/v1/auth/setup', { json: { username, password: 'long-enough-password' } })
    expectError(res, 403, 'Setup is already complete')
    expect(sessionCookie(res.headers)).toBeUndefined()
    const users = await api<{ username: string }[]>('GET', '/api/v1/users', { auth: await asAdmin() })
    expect(users.body.map(u => u.username)).not.toContain(username)
  })

  it('POST /api/v1/auth/setup validates its body (422)', async () => {
    expectError(await api('POST', '/api/v1/auth/setup', { json: { username: 'x', password: 'short' } }), 422, 'password')
  })
})

describe('POST /api/v1/auth/login', () => {
  it('logs in with the right password and sets an HttpOnly session cookie', async () => {
    const res = await api<MeView>('POST', '/api/v1/auth/login', { json: { username: server.adminUser, password: server.adminPassword } })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ id: expect.any(Number), username: server.adminUser, role: 'admin', via: 'session', valkey: false })
    const setCookie = res.headers.getSetCookie().find(c => c.startsWith('nodepulse_session='))!
    expect(setCookie).toMatch(/^nodepulse_session=[^;]+;/)
    expect(setCookie).toMatch(/HttpOnly/i)
    expect(setCookie).toMatch(/SameSite=Lax/i)
    expect(setCookie).toMatch(/Path=\//)
  })

  it('answers a wrong password and an unknown user with the same 401 message', async () => {
    const user = await createUser()
    const wrong = await api('POST', '/api/v1/auth/login', { json: { username: user.username, password: 'not-the-password' } })
    const unknown = await api('POST', '/api/v1/auth/login', { json: { username: unique('nobody'), password: 'not-the-password' } })
    const a = expectError(wrong, 401, 'Invalid username or password')
    const b = expectError(unknown, 401)
    expect(b.message).toBe(a.message)
    expect(sessionCookie(wrong.headers)).toBeUndefined()
  })

  it('records the login time of the user', async () => {
    const user = await createUser()
    const users = await api<{ id: number, last_login_at: string | null }[]>('GET', '/api/v1/users', { auth: await asAdmin() })
    const row = users.body.find(u => u.id === user.id)!
    expect(row.last_login_at).not.toBeNull()
    expect(Math.abs(Date.parse(row.last_login_at!) - Date.now())).toBeLessThan(60_000)
  })

  it('answers malformed JSON with 400', async () => {
    expectError(await api('POST', '/api/v1/auth/login', { raw: '{"username": "admin", ' }), 400, 'Malformed JSON')
  })

  it('answers an empty body with 400', async () => {
    expectError(await api('POST', '/api/v1/auth/login', { raw: '' }), 400)
  })

  it('answers a body without a password with 422 naming the field', async () => {
    expectError(await api('POST', '/api/v1/auth/login', { json: { username: 'admin' } }), 422, 'password')
  })

  it('answers unknown fields with 422', async () => {
    expectError(await api('POST', '/api/v1/auth/login', { json: { username: 'admin', password: 'x', remember: true } }), 422, 'remember')
  })

  it(`rate limits a username after ${5} failures with 429 and Retry-After, even for the right password`, async () => {
    const user = await createUser('viewer', 'limited')
    const attempt = (password: string) => api('POST', '/api/v1/auth/login', { json: { username: user.username, password } })
    for (let i = 0; i < server.loginMaxAttempts; i++) expectError(await attempt(`wrong-${i}`), 401)
    for (const password of ['wrong-again', user.password]) {
      const res = await attempt(password)
      expectError(res, 429, 'Too many failed logins')
      const retryAfter = Number(res.headers.get('retry-after'))
      expect(Number.isInteger(retryAfter)).toBe(true)
      expect(retryAfter).toBeGreaterThan(0)
      expect(retryAfter).toBeLessThanOrEqual(15 * 60)
    }
    // The limit is per username: others from the same address still log in.
    const other = await createUser()
    await login(other.username, other.password)
  })
})

describe('GET /api/v1/auth/me', () => {
  it('returns the user of a session cookie', async () => {
    const res = await api<MeView>('GET', '/api/v1/auth/me', { auth: await asAdmin() })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ id: expect.any(Number), username: server.adminUser, role: 'admin', via: 'session', valkey: false })
  })

  it('returns the principal of a bearer API token with the token\'s role', async () => {
    const admin = await api<MeView>('GET', '/api/v1/auth/me', { auth: await asAdmin() })
    const token = await createApiToken('viewer')
    const res = await api<MeView>('GET', '/api/v1/auth/me', { auth: { bearer: token.token } })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ id: admin.body.id, username: server.adminUser, role: 'viewer', via: 'token', valkey: false })
  })

  it('returns a viewer as a viewer', async () => {
    const user = await createUser()
    const res = await api<MeView>('GET', '/api/v1/auth/me', { auth: user.auth })
    expect(res.body).toEqual({ id: user.id, username: user.username, role: 'viewer', via: 'session', valkey: false })
  })

  it('answers 401 without credentials', async () => {
    expectError(await api('GET', '/api/v1/auth/me'), 401, 'Authentication required')
  })

  it('answers 401 for a forged or tampered session cookie', async () => {
    const { cookie } = await asAdmin()
    expectError(await api('GET', '/api/v1/auth/me', { auth: { cookie: 'nodepulse_session=Fe26.2**forged' } }), 401)
    expectError(await api('GET', '/api/v1/auth/me', { auth: { cookie: `${cookie.slice(0, -4)}AAAA` } }), 401)
  })

  it('answers 401 for a bad bearer token', async () => {
    expectError(await api('GET', '/api/v1/auth/me', { auth: { bearer: 'np_not-a-real-token' } }), 401, 'Invalid or expired token')
  })
})

describe('GET /api/v1/auth/session', () => {
  it('answers 200 with no user and the setup state when nobody is logged in, also for a forged cookie', async () => {
    for (const auth of [undefined, { cookie: 'nodepulse_session=Fe26.2**forged' }]) {
      const res = await api<SessionState>('GET', '/api/v1/auth/session', auth ? { auth } : {})
      expect(res.status).toBe(200)
      expect(res.body).toEqual({ user: null, setup_required: false })
    }
  })

  it('names the session\'s user as /me does, and forgets it after logout', async () => {
    const user = await createUser()
    const res = await api<SessionState>('GET', '/api/v1/auth/session', { auth: user.auth })
    expect(res.body).toEqual({ user: { id: user.id, username: user.username, role: 'viewer', via: 'session', valkey: false }, setup_required: false })
    expect((await api('POST', '/api/v1/auth/logout', { auth: user.auth })).status).toBe(200)
    expect((await api<SessionState>('GET', '/api/v1/auth/session', { auth: user.auth })).body.user).toBeNull()
  })

  it('is for the page\'s session only: a bearer token is not looked at', async () => {
    const token = await createApiToken('viewer')
    expect((await api<SessionState>('GET', '/api/v1/auth/session', { auth: { bearer: token.token } })).body).toEqual({ user: null, setup_required: false })
  })
})

describe('POST /api/v1/auth/logout', () => {
  it('clears the session cookie', async () => {
    const user = await createUser()
    const res = await api<{ ok: boolean }>('POST', '/api/v1/auth/logout', { auth: user.auth })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ ok: true })
    expect(sessionCookie(res.headers)).toBe('nodepulse_session=')
    expectError(await api('GET', '/api/v1/auth/me', { auth: { cookie: 'nodepulse_session=' } }), 401)
  })

  it('ends the session on the server: the cookie from before logout no longer works', async () => {
    const user = await createUser()
    expect((await api('GET', '/api/v1/auth/me', { auth: user.auth })).status).toBe(200)
    expect((await api('POST', '/api/v1/auth/logout', { auth: user.auth })).status).toBe(200)
    expectError(await api('GET', '/api/v1/auth/me', { auth: user.auth }), 401)
  })

  it('answers 401 without a session', async () => {
    expectError(await api('POST', '/api/v1/auth/logout'), 401)
  })
})

describe('POST /api/v1/auth/stream-token', () => {
  it('issues a short-lived token that only opens streams, not the rest of the API', async () => {
    const before = Date.now()
    const res = await api<{ token: string, expires_at: string, expires_in: number }>('POST', '/api/v1/auth/stream-token', { auth: await asAdmin() })
    expect(res.status).toBe(201)
    expect(res.body.token).toMatch(/^nps_[\w-]{43}$/)
    expect(res.body.expires_in).toBe(server.streamTokenTtl)
    const expiresAt = Date.parse(res.body.expires_at)
    expect(expiresAt).toBeGreaterThanOrEqual(before + server.streamTokenTtl * 1000 - 1000)
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + server.streamTokenTtl * 1000 + 1000)
    // An admin's stream token cannot act as the admin: a leaked URL opens streams and nothing else.
    expectError(await api('GET', '/api/v1/auth/me', { auth: { bearer: res.body.token } }), 401, 'only opens event streams')
    expectError(await api('POST', '/api/v1/nodes', { auth: { bearer: res.body.token }, json: { hostname: 'via-stream-token' } }), 401, 'only opens event streams')
  })

  it('is open to viewers, whose token opens streams', async () => {
    const user = await createUser()
    const res = await api<{ token: string }>('POST', '/api/v1/auth/stream-token', { auth: user.auth })
    expect(res.status).toBe(201)
    const stream = await openStream(`/api/v1/metrics/nodes/stats/stream?token=${encodeURIComponent(res.body.token)}`)
    expect(stream.status).toBe(200)
    expect(stream.text).toContain('"event":"connected"')
  })

  it('works as ?token= on a stream URL (EventSource cannot send headers), until it expires', async () => {
    const res = await api<{ token: string, expires_at: string }>('POST', '/api/v1/auth/stream-token', { auth: await asAdmin() })
    const stream = await openStream(`/api/v1/metrics/nodes/stats/stream?token=${encodeURIComponent(res.body.token)}`)
    expect(stream.status).toBe(200)
    expect(stream.contentType).toMatch(/^text\/event-stream/)
    expect(stream.text).toContain('"event":"connected"')
    // Polled until refused: it must be refused within a moment of expires_at, and not well before it.
    const expiresAt = Date.parse(res.body.expires_at)
    let expired = stream
    while (expired.status === 200 && Date.now() < expiresAt + 5000) {
      await sleep(200)
      expired = await openStream(`/api/v1/metrics/nodes/stats/stream?token=${encodeURIComponent(res.body.token)}`)
    }
    expect(expired.status).toBe(401)
    expect(Date.now()).toBeGreaterThan(expiresAt - 1000)
    expect(JSON.parse(expired.text)).toMatchObject({ statusCode: 401, message: 'Invalid or expired token' })
  }, 20_000)

  it('a stream URL with a wrong ?token= or none answers 401', async () => {
    for (const path of ['/api/v1/metrics/nodes/stats/stream?token=nps_wrong', '/api/v1/metrics/nodes/stats/stream']) {
      const res = await openStream(path)
      expect(res.status, path).toBe(401)
      expect(JSON.parse(res.text).statusCode).toBe(401)
    }
  })

  it('is not accepted as ?token= outside stream URLs', async () => {
    const res = await api<{ token: string }>('POST', '/api/v1/auth/stream-token', { auth: await asAdmin() })
    expectError(await api('GET', `/api/v1/auth/me?token=${res.body.token}`), 401)
  })

  it('answers 401 without credentials', async () => {
    expectError(await api('POST', '/api/v1/auth/stream-token'), 401)
  })
})

describe('CSRF protection of cookie-authenticated writes', () => {
  it('refuses a cookie POST from a foreign Origin with 403', async () => {
    const res = await api('POST', '/api/v1/auth/stream-token', { auth: await asAdmin(), headers: { origin: 'https://evil.example' } })
    expectError(res, 403, 'Cross-origin request refused')
  })

  it('refuses a cookie write the browser marks cross-site', async () => {
    const res = await api('POST', '/api/v1/nodes', { auth: await asAdmin(), json: { hostname: unique('csrf') }, headers: { 'sec-fetch-site': 'cross-site' } })
    expectError(res, 403, 'Cross-origin request refused')
  })

  it('refuses a login form posted from a foreign Origin', async () => {
    const res = await api('POST', '/api/v1/auth/login', { json: { username: server.adminUser, password: server.adminPassword }, headers: { origin: 'https://evil.example' } })
    expectError(res, 403)
    expect(sessionCookie(res.headers)).toBeUndefined()
  })

  it('accepts a cookie POST from the same origin', async () => {
    const res = await api('POST', '/api/v1/auth/stream-token', { auth: await asAdmin(), headers: { origin: server.baseURL, 'sec-fetch-site': 'same-origin' } })
    expect(res.status).toBe(201)
  })

  it('does not apply to bearer clients', async () => {
    const token = await createApiToken('viewer')
    const res = await api('POST', '/api/v1/auth/stream-token', { auth: { bearer: token.token }, headers: { origin: 'https://elsewhere.example' } })
    expect(res.status).toBe(201)
  })
})
