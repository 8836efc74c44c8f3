/**
 * The defects an outside probe found (issue 14), each as the probe saw it: parallel login guesses,
 * webhook URL secrets, a resumed stream's greeting, setup hashing for anyone, 500s on client input,
 * stream slots, an oversized chunked body, agents muting their own alerts, and the catch-up batch size.
 * Requests that must not share the login limiter's per-address count come from addresses of their
 * own on the loopback network (127.0.0.0/8 is all loopback on Linux).
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_SAMPLES_PER_REPORT } from '../../shared/contracts/ingest'
import type { DeliveryView, WebhookWithSecret } from '../../shared/contracts/rest'
import { createHostSampler } from '../../shared/sampler'
import { api, asAdmin, createAgent, createUser, expectError, server, unique } from './helpers'
import { openStream } from './sse'
import { startDedicated, until, type Dedicated } from './support/dedicated'
import { startReceiver, type Receiver } from './support/receiver'

let nextAddress = Math.floor(Math.random() * 50_000)
/**
 * A loopback address no other test in this run sends from (the login limiter counts per address):
 * 127.A.B.C with A.B counting up from a random start, every octet within 1–250.
 */
function ownAddress(): string {
  const n = nextAddress++
  return `127.${1 + (Math.floor(n / 250) % 250)}.${1 + (n % 250)}.${1 + Math.floor(Math.random() * 250)}`
}

interface Answer { status: number, headers: Record<string, string | string[] | undefined>, text: string }

/** A request from `localAddress`, with the body written as given (a string, or chunks for chunked transfer). */
function from(localAddress: string, method: string, path: string, body?: string | string[], headers: Record<string, string> = {}, baseURL = server.baseURL): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, baseURL)
    const req = request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method, localAddress, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', c => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('error', reject)
    if (Array.isArray(body)) {
      for (const chunk of body) req.write(chunk)
      req.end()
    }
    else req.end(body)
  })
}

const receivers: Receiver[] = []
const hooks: number[] = []
afterAll(async () => {
  const auth = await asAdmin()
  await Promise.all(hooks.map(id => api('DELETE', `/api/v1/webhooks/${id}`, { auth })))
  await Promise.all(receivers.map(r => r.close()))
})

describe('1. parallel login guesses', () => {
  it(`a burst of 60 wrong passwords from one address is cut off at the limit (${server.loginMaxAttempts}), and a right one in the burst does not log in`, async () => {
    const user = await createUser('viewer', 'burst')
    const address = ownAddress()
    const body = (password: string) => JSON.stringify({ username: user.username, password })
    const wrong = Array.from({ length: 60 }, (_, i) => from(address, 'POST', '/api/v1/auth/login', body(`wrong-${i}`)))
    const right = from(address, 'POST', '/api/v1/auth/login', body(user.password))
    const answers = await Promise.all(wrong)
    const statuses = answers.map(a => a.status)
    expect(statuses.filter(s => s === 401).length).toBeLessThanOrEqual(server.loginMaxAttempts)
    expect(statuses.filter(s => s === 429).length).toBeGreaterThanOrEqual(60 - server.loginMaxAttempts)
    expect(statuses.every(s => s === 401 || s === 429)).toBe(true)
    const last = await right
    expect(last.status, last.text).toBe(429)
    expect(last.headers['set-cookie']).toBeUndefined()
  })
})

describe('2. webhook URL secrets', () => {
  it('refuses credentials in a webhook URL at create and update (422 naming url)', async () => {
    const auth = await asAdmin()
    expectError(await api('POST', '/api/v1/webhooks', { auth, json: { name: unique('creds'), url: 'https://user:hunter2@hooks.example.com/x' } }), 422, 'url')
    expectError(await api('POST', '/api/v1/webhooks', { auth, json: { name: unique('creds'), url: 'https://token-only@hooks.example.com/x' } }), 422, 'url')
    const ok = await api<WebhookWithSecret>('POST', '/api/v1/webhooks', { auth, json: { name: unique('plain'), url: 'https://hooks.example.com/x' } })
    expect(ok.status, ok.text).toBe(201)
    hooks.push(ok.body.id)
    expectError(await api('PATCH', `/api/v1/webhooks/${ok.body.id}`, { auth, json: { url: 'https://user:hunter2@hooks.example.com/x' } }), 422, 'url')
  })

  it('stores a delivery error that names neither the URL nor its path or query token', async () => {
    const auth = await asAdmin()
    const r = await startReceiver()
    const { port } = new URL(r.url)
    await r.close()
    const url = `http://127.0.0.1:${port}/hooks/PATHSECRET123?key=QUERYSECRET456`
    const hook = await api<WebhookWithSecret>('POST', '/api/v1/webhooks', { auth, json: { name: unique('leak'), url } })
    expect(hook.status, hook.text).toBe(201)
    hooks.push(hook.body.id)
    const test = await api<DeliveryView>('POST', `/api/v1/webhooks/${hook.body.id}/test`, { auth })
    expect(test.status, test.text).toBe(200)
    expect(test.body.error).toBe('could not connect: connection refused')
    const viewer = await createUser()
    const seen = await api('GET', `/api/v1/webhooks/${hook.body.id}/deliveries`, { auth: viewer.auth })
    expect(seen.status, seen.text).toBe(200)
    for (const secret of ['PATHSECRET123', 'QUERYSECRET456', String(port)]) expect(seen.text).not.toContain(secret)
  })
})

describe('3. a resumed /stream/* greets with the resume position', () => {
  it('the connected message of a resumed stream carries the id it resumes from, so a drop before the replay loses nothing', async () => {
    const auth = await asAdmin()
    const first = await openStream('/stream/reports', auth)
    const greeting = await first.next(m => m.event === 'connected')
    first.close()
    const agent = await createAgent()
    for (let i = 0; i < 3; i++) {
      const res = await api('POST', `/api/v1/nodes/${agent.id}/stats`, { auth: { bearer: agent.token }, json: { cpu_percent: i, disk_percent: 1 } })
      expect(res.status, res.text).toBe(200)
    }
    const resumed = await openStream('/stream/reports', auth, { 'last-event-id': greeting.id! })
    try {
      const hello = await resumed.next(m => m.event === 'connected')
      expect(hello.id!.split('-')[1]).toBe(greeting.id!.split('-')[1])
      const replayed = await resumed.next(m => m.event === 'reports' && JSON.parse(m.data!).node_id === agent.id)
      expect(Number(replayed.id!.split('-')[1])).toBeGreaterThan(Number(greeting.id!.split('-')[1]))
    }
    finally {
      resumed.close()
    }
  })
})

describe('4. setup after it is done', () => {
  it('caps the password length of every route that hashes (422 naming password)', async () => {
    const long = 'p'.repeat(1025)
    expectError(await api('POST', '/api/v1/auth/login', { json: { username: 'admin', password: long } }), 422, 'password')
    expectError(await api('POST', '/api/v1/auth/setup', { json: { username: 'someone', password: long } }), 422, 'password')
    expectError(await api('POST', '/api/v1/users', { auth: await asAdmin(), json: { username: unique('long'), password: long, role: 'viewer' } }), 422, 'password')
  })
})

describe('5. client input that made 500s', () => {
  const nul = 'a\u0000b'

  it('NUL bytes in JSON strings are refused with 422 naming the field', async () => {
    const auth = await asAdmin()
    const agent = await createAgent()
    const cases: [string, string, unknown, ({ bearer: string } | { cookie: string })?][] = [
      ['POST', '/api/v1/auth/login', { username: nul, password: 'whatever-it-is' }],
      ['POST', `/api/v1/nodes/${agent.id}/events`, { event_type: 'error_report', message: nul }, { bearer: agent.token }],
      ['POST', `/api/v1/nodes/${agent.id}/events`, { event_type: 'error_report', data: { note: nul } }, { bearer: agent.token }],
      ['POST', `/api/v1/nodes/${agent.id}/events`, { event_type: 'error_report', data: { [nul]: 1 } }, { bearer: agent.token }],
      ['POST', '/api/v1/nodes', { hostname: unique('nul'), labels: { team: nul } }, auth],
      ['POST', '/api/v1/tokens', { name: nul, role: 'viewer' }, auth],
      ['POST', '/api/v1/webhooks', { name: nul, url: 'https://hooks.example.com/x' }, auth],
    ]
    for (const [method, path, json, who] of cases) {
      const res = await api(method, path, { auth: who, json })
      const field = Object.keys(json as object).find(k => JSON.stringify((json as Record<string, unknown>)[k]).includes('\\u0000'))!
      expectError(res, 422, field)
      expect(res.text).toMatch(/NUL|\\u0000/)
    }
  })

  it('a node id past the integer range in ?node_id= is 400 naming node_id', async () => {
    const res = await api('GET', '/api/v1/events?node_id=9999999999', { auth: await asAdmin() })
    expectError(res, 400, 'node_id')
  })

  it('?since= at the far ends of the Date range is 400 naming since', async () => {
    const auth = await asAdmin()
    for (const since of ['+275760-09-13T00:00:00Z', '-271821-04-20T00:00:00Z', '8640000000000000']) {
      expectError(await api('GET', `/api/v1/events?since=${encodeURIComponent(since)}`, { auth }), 400, 'since')
      const stream = await openStream(`/api/v1/events/stream?since=${encodeURIComponent(since)}`, auth)
      expect(stream.status, since).toBe(400)
      stream.close()
    }
  })

  it('a delivery cursor past the integer range is 400 naming cursor', async () => {
    const auth = await asAdmin()
    const hook = await api<WebhookWithSecret>('POST', '/api/v1/webhooks', { auth, json: { name: unique('cursor'), url: 'https://hooks.example.com/x' } })
    hooks.push(hook.body.id)
    expectError(await api('GET', `/api/v1/webhooks/${hook.body.id}/deliveries?cursor=9999999999`, { auth }), 400, 'cursor')
  })

  it('event data nested 6,000 deep is 422 naming data', async () => {
    const agent = await createAgent()
    const deep = `${'['.repeat(6000)}${']'.repeat(6000)}`
    const res = await api('POST', `/api/v1/nodes/${agent.id}/events`, { auth: { bearer: agent.token }, raw: `{"event_type":"error_report","data":${deep}}` })
    expectError(res, 422, 'data')
  })
})

describe('9. the documented 1,000-sample catch-up batch', () => {
  it('takes 1,000 samples of this host as shared/sampler.ts reads them, detail and all', async () => {
    const sampler = createHostSampler()
    await sampler.sample()
    await new Promise(r => setTimeout(r, 300))
    const one = await sampler.sample()
    const now = Date.now()
    const samples = Array.from({ length: MAX_SAMPLES_PER_REPORT }, (_, i) => ({ ...one, timestamp: new Date(now - (MAX_SAMPLES_PER_REPORT - i) * 1000).toISOString() }))
    const body = JSON.stringify({ samples })
    const agent = await createAgent()
    const res = await api<{ accepted: number, stored: number }>('POST', `/api/v1/nodes/${agent.id}/stats`, { auth: { bearer: agent.token }, raw: body })
    expect(res.status, `${Buffer.byteLength(body)} bytes: ${res.text.slice(0, 200)}`).toBe(200)
    expect(res.body).toMatchObject({ accepted: MAX_SAMPLES_PER_REPORT, stored: MAX_SAMPLES_PER_REPORT })
  })

  it('keeps the small limit on every other route (an event body of 20 KB is 413)', async () => {
    const agent = await createAgent()
    expectError(await api('POST', `/api/v1/nodes/${agent.id}/events`, { auth: { bearer: agent.token }, raw: JSON.stringify({ event_type: 'error_report', data: { blob: 'x'.repeat(20_000) } }) }), 413)
    expectError(await api('POST', '/api/v1/auth/login', { raw: JSON.stringify({ username: 'admin', password: 'x'.repeat(20_000) }) }), 413)
  })
})

describe('8. an agent cannot mute its own alerts', () => {
  it('an agent event with data.maintenance: true is still sent to webhooks; its data goes under data.agent', async () => {
    const r = await startReceiver()
    receivers.push(r)
    const hook = await api<WebhookWithSecret>('POST', '/api/v1/webhooks', { auth: await asAdmin(), json: { name: unique('mute'), url: r.url, event_types: ['error_report'], min_severity: 'error' } })
    expect(hook.status, hook.text).toBe(201)
    hooks.push(hook.body.id)
    const agent = await createAgent()
    const sent = await api<{ id: number, data: Record<string, unknown> }>('POST', `/api/v1/nodes/${agent.id}/events`, {
      auth: { bearer: agent.token }, json: { event_type: 'error_report', message: 'disk failing', data: { maintenance: true, hostname: 'forged', source: 'server', job: 'smart' } },
    })
    expect(sent.status, sent.text).toBe(201)
    expect(sent.body.data).toEqual({ hostname: agent.hostname, source: 'agent', agent: { maintenance: true, hostname: 'forged', source: 'server', job: 'smart' } })
    const got = await r.waitFor('the agent\'s error_report', rs => rs.some(x => x.body.event.id === sent.body.id))
    expect(got.find(x => x.body.event.id === sent.body.id)!.body.event.data.maintenance).toBeUndefined()
  })
})

describe('on a server of its own (stream slots, logs, behind a trusted proxy)', () => {
  let d: Dedicated
  beforeAll(async () => {
    d = await startDedicated('harden', { NODEPULSE_SSE_MAX_CLIENTS_PER_USER: '3', NODEPULSE_LOGIN_MAX_ATTEMPTS: '3', NODEPULSE_TRUST_PROXY: 'true' })
  })
  afterAll(async () => {
    await d?.stop()
  })

  it('4. a closed setup refuses before hashing: 40 posts with 1 KB passwords cost the server less CPU than 6 password checks', async () => {
    // CPU time of the server process (all its threads, scrypt's pool included): not the machine's load.
    const cpuMs = () => {
      const fields = readFileSync(`/proc/${d.srv.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
      return (Number(fields[11]) + Number(fields[12])) * 1000 / 100
    }
    const before = cpuMs()
    for (let i = 0; i < 6; i++) expect((await from(ownAddress(), 'POST', '/api/v1/auth/login', JSON.stringify({ username: unique('nobody'), password: 'x'.repeat(1024) }), {}, d.baseURL)).status).toBe(401)
    const hashing = cpuMs() - before
    const t0 = cpuMs()
    const answers = await Promise.all(Array.from({ length: 40 }, () => from(ownAddress(), 'POST', '/api/v1/auth/setup', JSON.stringify({ username: unique('late'), password: 'p'.repeat(1024) }), {}, d.baseURL)))
    const refusing = cpuMs() - t0
    expect(answers.map(a => a.status)).toEqual(Array.from({ length: 40 }, () => 403))
    expect(refusing, `40 refused setups took ${refusing} ms of CPU; 6 password checks ${hashing} ms`).toBeLessThan(hashing)
  })

  it('6. one user cannot take every stream slot: past NODEPULSE_SSE_MAX_CLIENTS_PER_USER, 429 with Retry-After; others still connect', async () => {
    const token = await d.call<{ token: string }>('POST', '/api/v1/tokens', { json: { name: unique('hog'), role: 'viewer' } })
    expect(token.status, token.text).toBe(201)
    const hog = { bearer: token.body.token }
    const open = []
    try {
      for (let i = 0; i < 3; i++) {
        const s = await openStream('/api/v1/metrics/nodes/stats/stream?interval=1', hog, {}, d.baseURL)
        open.push(s)
        expect(s.status).toBe(200)
      }
      const refused = await openStream('/stream/stats', hog, {}, d.baseURL)
      open.push(refused)
      expect(refused.status).toBe(429)
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
      // Another user is not affected (the admin's own tokens all count as the admin's).
      const password = `pw-${unique('x')}`
      const viewer = await d.call<{ username: string }>('POST', '/api/v1/users', { json: { username: unique('other'), password, role: 'viewer' } })
      expect(viewer.status, viewer.text).toBe(201)
      const login = await from(ownAddress(), 'POST', '/api/v1/auth/login', JSON.stringify({ username: viewer.body.username, password }), {}, d.baseURL)
      const cookie = String(login.headers['set-cookie']).split(';')[0]!
      const other = await openStream('/stream/stats', { cookie }, {}, d.baseURL)
      open.push(other)
      expect(other.status).toBe(200)
      // A slot freed is a slot again.
      open[0]!.close()
      await until('the hub to count the closed stream', async () => (await d.hubStats()).total_clients === 3)
      const again = await openStream('/api/v1/events/stream', hog, {}, d.baseURL)
      open.push(again)
      expect(again.status).toBe(200)
    }
    finally {
      open.forEach(s => s.close())
    }
  })

  it('7. an oversized chunked body to login is 413 without an uncaught exception', async () => {
    const chunk = 'x'.repeat(8 * 1024)
    for (let i = 0; i < 3; i++) {
      const res = await from(ownAddress(), 'POST', '/api/v1/auth/login', [`{"username":"admin","password":"`, ...Array.from({ length: 8 }, () => chunk), '"}'], { 'transfer-encoding': 'chunked' }, d.baseURL)
      expect(res.status, res.text).toBe(413)
      expect(JSON.parse(res.text)).toMatchObject({ statusCode: 413 })
    }
    expect((await d.call('GET', '/api/health', { auth: null })).status).toBe(200)
    expect(d.srv.output()).not.toMatch(/uncaughtException|_isIdle/)
  })

  it('no secret reaches the log: passwords, cookies, tokens, webhook secrets, database parameters', async () => {
    const secrets = [d.srv.info.adminPassword, d.cookie.split('=')[1]!, d.bearer]
    // A database error (a NUL byte Postgres cannot store) used to be logged with its query parameters.
    const nul = await d.call<WebhookWithSecret>('POST', '/api/v1/webhooks', { json: { name: `nul\u0000${unique('x')}`, url: 'https://hooks.example.com/x' } })
    expect(nul.status).toBeLessThan(500)
    const made = await d.call<WebhookWithSecret>('POST', '/api/v1/webhooks', { json: { name: unique('logged'), url: 'http://127.0.0.1:9/hook' } })
    expect(made.status, made.text).toBe(201)
    secrets.push(made.body.secret)
    const rotated = await d.call<WebhookWithSecret>('POST', `/api/v1/webhooks/${made.body.id}/secret`)
    secrets.push(rotated.body.secret)
    expect((await d.call<DeliveryView>('POST', `/api/v1/webhooks/${made.body.id}/test`)).status).toBe(200)
    const agent = await d.createAgent()
    secrets.push(agent.token)
    expect((await d.call('POST', `/api/v1/nodes/${agent.id}/stats`, { json: { cpu_percent: 1, disk_percent: 1 }, auth: { bearer: `${agent.token}x` } })).status).toBe(401)
    expect((await from(ownAddress(), 'POST', '/api/v1/auth/login', JSON.stringify({ username: d.srv.info.adminUser, password: 'Wrong-Password-7' }), {}, d.baseURL)).status).toBe(401)
    const out = d.srv.output()
    for (const secret of [...secrets, 'Wrong-Password-7']) expect(out).not.toContain(secret)
    expect(out).not.toContain('npw_')
    expect(out).not.toMatch(/params:/)
  })

  it('behind NODEPULSE_TRUST_PROXY=true: X-Forwarded-Host/-Proto name the origin, and X-Forwarded-For\'s last entry is the client', async () => {
    const version = await d.call<{ server_url: string }>('GET', '/agent/version', { auth: null, headers: { 'x-forwarded-host': 'np.example.com', 'x-forwarded-proto': 'https' } })
    expect(version.body.server_url).toBe('https://np.example.com')
    const cookieWrite = await d.call('POST', '/api/v1/auth/stream-token', { auth: { cookie: d.cookie }, headers: { 'origin': 'https://np.example.com', 'x-forwarded-host': 'np.example.com', 'sec-fetch-site': 'same-origin' } })
    expect(cookieWrite.status, cookieWrite.text).toBe(201)
    // The limit follows the address the proxy appended, whatever the client put before it.
    const address = ownAddress()
    const guess = (forwardedFor: string) => from(address, 'POST', '/api/v1/auth/login', JSON.stringify({ username: 'admin', password: 'not-it-at-all' }), { 'x-forwarded-for': forwardedFor }, d.baseURL)
    for (let i = 0; i < 3; i++) expect((await guess(`10.9.9.${i}, 203.0.113.7`)).status).toBe(401)
    expect((await guess('10.9.9.99, 203.0.113.7')).status).toBe(429)
    expect((await guess('203.0.113.7, 203.0.113.8')).status).toBe(401)
  })

})

describe('decided: cookie writes, forwarded headers, page headers', () => {
  it('a cookie-authenticated write passes only as same-origin (or from a client that sends neither Origin nor Sec-Fetch-Site) with a JSON body', async () => {
    const auth = await asAdmin()
    for (const site of ['same-site', 'cross-site', 'none']) {
      expectError(await api('POST', '/api/v1/auth/stream-token', { auth, headers: { 'sec-fetch-site': site } }), 403, 'Cross-origin request refused')
    }
    // The bodies a page elsewhere can post without a CORS preflight.
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      expectError(await api('POST', '/api/v1/nodes', { auth, raw: JSON.stringify({ hostname: unique('form') }), headers: { 'content-type': type } }), 415, 'JSON')
    }
    const script = await api('POST', '/api/v1/nodes', { auth, json: { hostname: unique('script') } })
    expect(script.status, script.text).toBe(201)
    const bodyless = await api('POST', '/api/v1/auth/stream-token', { auth, headers: { 'sec-fetch-site': 'same-origin', 'origin': server.baseURL } })
    expect(bodyless.status, bodyless.text).toBe(201)
  })

  it('X-Forwarded-Host is not trusted without NODEPULSE_TRUST_PROXY: neither for /agent/version nor for the Origin check', async () => {
    const version = await api<{ server_url: string }>('GET', '/agent/version', { headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' } })
    expect(version.status).toBe(200)
    expect(version.body.server_url).toBe(server.baseURL)
    const forged = await api('POST', '/api/v1/auth/stream-token', { auth: await asAdmin(), headers: { 'origin': 'https://evil.example', 'x-forwarded-host': 'evil.example' } })
    expectError(forged, 403, 'Cross-origin request refused')
  })

  it('pages carry X-Frame-Options, nosniff, no-referrer and a CSP that allows exactly their own inline script', async () => {
    for (const path of ['/', '/login', '/events']) {
      const res = await fetch(`${server.baseURL}${path}`)
      const html = await res.text()
      expect(res.status).toBe(200)
      expect(res.headers.get('x-frame-options')).toBe('DENY')
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('referrer-policy')).toBe('no-referrer')
      const csp = res.headers.get('content-security-policy') ?? ''
      expect(csp).toContain('frame-ancestors \'none\'')
      expect(csp).toContain('object-src \'none\'')
      expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/)
      const inline = [...html.matchAll(/<script(?![^>]*\ssrc=)(?![^>]*application\/json)[^>]*>([\s\S]*?)<\/script>/g)].map(m => m[1]!)
      expect(inline.length).toBeGreaterThan(0)
      for (const code of inline) expect(csp).toContain(`'sha256-${createHash('sha256').update(code).digest('base64')}'`)
    }
    expect((await fetch(`${server.baseURL}/api/health`)).headers.get('x-frame-options')).toBe('DENY')
  })
})
