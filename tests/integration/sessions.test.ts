/**
 * The session cookie's promises in the README: `HttpOnly; SameSite=Lax`, `Secure` only with
 * NODEPULSE_SECURE_COOKIES=true, and a generated session secret kept in the database, so a restart
 * (and, on PostgreSQL, a second instance on the same database) accepts the cookies sealed before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, server } from './helpers'
import { startOwnServer } from './support/dedicated'
import { startServer, type RunningServer } from './support/server'

let own: { srv: RunningServer, stop: () => Promise<void>, databaseUrl?: string }
beforeAll(async () => {
  own = await startOwnServer('sessions', { NODEPULSE_SECURE_COOKIES: 'true' })
})
afterAll(() => own?.stop())

/** Logs in as the own server's admin on `baseURL`; the session cookie's `name=value` and its attributes. */
async function logIn(baseURL: string): Promise<{ cookie: string, attributes: string[] }> {
  const res = await fetch(`${baseURL}/api/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: own.srv.info.adminUser, password: own.srv.info.adminPassword }),
  })
  expect(res.status, await res.clone().text()).toBe(200)
  const set = res.headers.getSetCookie().find(c => c.startsWith('nodepulse_session='))
  expect(set, 'login sets the session cookie').toBeDefined()
  const [cookie, ...attributes] = set!.split(';').map(part => part.trim())
  return { cookie: cookie!, attributes }
}

/** The status of `GET /api/v1/auth/me` on `baseURL` with the cookie. */
async function me(baseURL: string, cookie: string): Promise<number> {
  return (await fetch(`${baseURL}/api/v1/auth/me`, { headers: { cookie } })).status
}

describe('the session cookie', () => {
  it('is HttpOnly and SameSite=Lax, without Secure by default', async () => {
    const res = await api('POST', '/api/v1/auth/login', { json: { username: server.adminUser, password: server.adminPassword } })
    expect(res.status, res.text).toBe(200)
    const attributes = res.headers.getSetCookie().find(c => c.startsWith('nodepulse_session='))!.split(';').map(a => a.trim().toLowerCase())
    expect(attributes).toEqual(expect.arrayContaining(['httponly', 'samesite=lax', 'path=/']))
    expect(attributes).not.toContain('secure')
  })

  it('is also Secure with NODEPULSE_SECURE_COOKIES=true', async () => {
    const { attributes } = await logIn(own.srv.info.baseURL)
    expect(attributes.map(a => a.toLowerCase())).toEqual(expect.arrayContaining(['httponly', 'samesite=lax', 'secure']))
  })
})

describe('the generated session secret', () => {
  it('is kept in the database: a cookie sealed before a restart is accepted after it', async () => {
    const { cookie } = await logIn(own.srv.info.baseURL)
    expect(await me(own.srv.info.baseURL, cookie)).toBe(200)
    await own.srv.restart()
    expect(await me(own.srv.info.baseURL, cookie)).toBe(200)
    // A cookie whose seal was tampered with is refused: the seal, not the session id alone, is checked.
    const [name, value] = cookie.split('=')
    expect(await me(own.srv.info.baseURL, `${name}=${value!.slice(0, -4)}AAAA`)).toBe(401)
  }, 90_000)

  it.runIf(server.driver === 'postgres')('is shared by a second instance on the same database; a configured secret is not', async () => {
    const first = await logIn(own.srv.info.baseURL)
    // The same admin password: a server started with another one would set it (NODEPULSE_ADMIN_PASSWORD wins).
    const admin = { NODEPULSE_ADMIN_PASSWORD: own.srv.info.adminPassword }
    const second = await startServer({ label: 'sessions-second', databaseUrl: own.databaseUrl!, env: admin })
    const configured = await startServer({ label: 'sessions-configured', databaseUrl: own.databaseUrl!, env: { ...admin, NODEPULSE_SESSION_SECRET: 'x'.repeat(40) } })
    try {
      expect(await me(second.info.baseURL, first.cookie), 'the first instance\'s cookie on the second').toBe(200)
      const fromSecond = await logIn(second.info.baseURL)
      expect(fromSecond.attributes.map(a => a.toLowerCase()), 'the second instance has no NODEPULSE_SECURE_COOKIES').not.toContain('secure')
      expect(await me(own.srv.info.baseURL, fromSecond.cookie), 'the second instance\'s cookie on the first').toBe(200)
      // An instance given its own NODEPULSE_SESSION_SECRET cannot open the others' cookies (nor they its).
      expect(await me(configured.info.baseURL, first.cookie)).toBe(401)
      expect(await me(own.srv.info.baseURL, (await logIn(configured.info.baseURL)).cookie)).toBe(401)
    }
    finally {
      await Promise.all([second.stop(), configured.stop()])
    }
  }, 120_000)
})
