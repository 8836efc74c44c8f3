/**
 * Seed 003's mDNS discovery, only inside a network namespace this file makes (support/netns.ts):
 * two servers announce `_nodepulse._tcp`, an aggregator with `discovery_method: mdns` finds both,
 * makes the one it has a token for a member and polls it, and lists the other as found without a
 * token. Nothing here can send a packet on the machine's real interfaces: the namespace has only `lo`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { CreatedNode, NodeView } from '../../shared/contracts/rest'
import type { DiscoveredMemberView, MemberView } from '../../shared/contracts/seed003'
import { netnsUnavailable, openNetns, type Netns } from './support/netns'
import { until } from './support/dedicated'

const ADMIN = { username: 'admin', password: 'mdns-admin-password' }
// The servers in the namespace run on PGlite (it cannot reach the machine's Postgres): once is enough.
const skip = inject('server').driver !== 'pglite' ? 'mDNS tests run in the PGlite project only (the namespace cannot reach Postgres)' : netnsUnavailable()
if (skip) console.warn(`[federation-mdns] skipped: ${skip}`)

let ns: Netns
// An agent run with --listen announces itself like a server, under its host's name.
const agentToken = randomBytes(24).toString('hex')
const agentName = hostname().replace(/[^\w.-]+/g, '-').slice(0, 64) || 'nodepulse'
let dir: string
const urls: Record<string, string> = {}
const cookies: Record<string, string> = {}

/** A request to a server in the namespace, as its admin. */
async function call<T>(server: string, method: string, path: string, json?: unknown): Promise<{ status: number, body: T, text: string }> {
  const headers: Record<string, string> = { accept: 'application/json', cookie: cookies[server] ?? '' }
  if (json !== undefined) headers['content-type'] = 'application/json'
  const res = await ns.request(`${urls[server]}${path}`, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) })
  let body: unknown
  try {
    body = JSON.parse(res.text)
  }
  catch {
    body = undefined
  }
  return { status: res.status, body: body as T, text: res.text }
}

async function start(name: string, cluster: string[]): Promise<void> {
  const file = join(dir, `${name}.yaml`)
  writeFileSync(file, ['cluster:', ...cluster.map(l => `  ${l}`)].join('\n'))
  const { baseURL } = await ns.start(name, {
    NODEPULSE_DATA_DIR: join(dir, name), NODEPULSE_CONFIG: file, NODEPULSE_HOSTNAME: `${name}-host`, NODEPULSE_SAMPLE_INTERVAL: '1',
    NODEPULSE_ADMIN_USER: ADMIN.username, NODEPULSE_ADMIN_PASSWORD: ADMIN.password,
  })
  urls[name] = baseURL
  const login = await ns.request(`${baseURL}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) })
  expect(login.status, login.text).toBe(200)
  cookies[name] = login.setCookie.find(c => c.startsWith('nodepulse_session='))!.split(';')[0]!
}

const announcing = (name: string) => ['mdns:', '  announce: true', `  name: ${name}`, '  interface: 127.0.0.1']

describe.skipIf(skip)('federation: mDNS discovery in a network namespace', () => {
  let token: string
  let sensor: CreatedNode

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nodepulse-mdns-'))
    ns = openNetns()
    expect(await ns.interfaces()).toEqual(['lo'])
    await Promise.all([start('site-m', announcing('site-m')), start('site-n', announcing('site-n'))])
    const created = await call<{ token: string }>('site-m', 'POST', '/api/v1/tokens', { name: 'aggregator', role: 'viewer' })
    expect(created.status, created.text).toBe(201)
    token = created.body.token
    const node = await call<CreatedNode>('site-m', 'POST', '/api/v1/nodes', { hostname: 'sensor-01' })
    expect(node.status, node.text).toBe(201)
    sensor = node.body
    const sent = await ns.request(`${urls['site-m']}/api/v1/nodes/${sensor.id}/stats`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${sensor.token}` }, body: JSON.stringify({ cpu_percent: 42, memory_percent: 10, disk_percent: 20 }),
    })
    expect(sent.status, sent.text).toBe(200)
    // An agent in listen mode, on loopback inside the namespace (a port below the ephemeral range,
    // free in a namespace of our own), announcing (no --no-announce).
    await ns.agent('edge-agent', ['--listen', '9411', '--listen-host', '127.0.0.1', '--interval', '1', '--spool-dir', join(dir, 'agent-spool')], { NODEPULSE_LISTEN_TOKEN: agentToken })
    // The aggregator has tokens for site-m and the agent only; it announces nothing itself.
    await start('hub', ['aggregation_interval: 1', 'request_timeout: 2', 'discovery_method: mdns', 'mdns:', '  interface: 127.0.0.1', '  tokens:', `    site-m: "${token}"`, `    "${agentName}": "${agentToken}"`])
  }, 240_000)

  afterAll(async () => {
    await ns?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('makes a found server with a token a member, and polls it', async () => {
    const discovered = async () => (await call<DiscoveredMemberView[]>('hub', 'GET', '/api/v1/members/discovered')).body
    await until('site-m found and made a member', async () => (await discovered()).some(d => d.name === 'site-m' && d.state === 'member'), 30_000)
    const found = (await discovered()).find(d => d.name === 'site-m')!
    expect(found).toMatchObject({ url: urls['site-m'], service: 'site-m', message: null })
    expect(found.instance).toMatch(/^[\w-]{8,}$/)

    await until('site-m reachable', async () => (await call<MemberView[]>('hub', 'GET', '/api/v1/members')).body.some(m => m.name === 'site-m' && m.reachable === true), 20_000)
    const member = (await call<MemberView[]>('hub', 'GET', '/api/v1/members')).body.find(m => m.name === 'site-m')!
    expect(member).toMatchObject({ origin: 'mdns', url: urls['site-m'], last_error: null })
    await until('site-m\'s sensor on the hub', async () => (await call<NodeView[]>('hub', 'GET', '/api/v1/nodes')).body.some(n => n.hostname === 'site-m / sensor-01' && n.cpu_percent === 42), 20_000)
  })

  it('adopts an agent run with --listen that it finds, and polls its node', async () => {
    const discovered = async () => (await call<DiscoveredMemberView[]>('hub', 'GET', '/api/v1/members/discovered')).body
    await until('the agent found and made a member', async () => (await discovered()).some(d => d.name === agentName && d.state === 'member'), 30_000)
    await until('the agent reachable', async () => (await call<MemberView[]>('hub', 'GET', '/api/v1/members')).body.some(m => m.name === agentName && m.reachable === true), 20_000)
    const member = (await call<MemberView[]>('hub', 'GET', '/api/v1/members')).body.find(m => m.name === agentName)!
    expect(member).toMatchObject({ origin: 'mdns', last_error: null })
    await until('the agent\'s node on the hub', async () => (await call<NodeView[]>('hub', 'GET', '/api/v1/nodes')).body.some(n => n.hostname === `${agentName} / ${hostname()}`), 20_000)
  })

  it('lists a found server without a token as waiting for one, and does not poll it', async () => {
    const discovered = async () => (await call<DiscoveredMemberView[]>('hub', 'GET', '/api/v1/members/discovered')).body
    await until('site-n found', async () => (await discovered()).some(d => d.name === 'site-n'), 30_000)
    const waiting = (await discovered()).find(d => d.name === 'site-n')!
    expect(waiting).toMatchObject({ state: 'no_token', url: urls['site-n'], member_id: null })
    expect(waiting.message).toContain('cluster.mdns.tokens.site-n')
    expect((await call<MemberView[]>('hub', 'GET', '/api/v1/members')).body.map(m => m.name).sort()).toEqual([agentName, 'site-m'].sort())
    expect((await call<NodeView[]>('hub', 'GET', '/api/v1/nodes')).body.some(n => n.hostname.startsWith('site-n /'))).toBe(false)
    // A server that does not browse lists nothing; the list is for admins.
    expect((await call<DiscoveredMemberView[]>('site-m', 'GET', '/api/v1/members/discovered')).body).toEqual([])
    const viewerToken = (await call<{ token: string }>('hub', 'POST', '/api/v1/tokens', { name: 'viewer', role: 'viewer' })).body.token
    const asViewer = await ns.request(`${urls.hub}/api/v1/members/discovered`, { headers: { authorization: `Bearer ${viewerToken}` } })
    expect(asViewer.status).toBe(403)
  })
})

if (skip) {
  describe('federation: mDNS discovery', () => {
    it.skip(`skipped: ${skip}`, () => {})
  })
}
