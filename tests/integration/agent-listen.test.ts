/**
 * `nodepulse agent --listen` (issue 10): the BUILT agent serves seed 003's member API on loopback
 * and the built server aggregates it as a member (NODEPULSE_CONFIG's cluster block, manual_nodes):
 * the agent's node and its samples appear on the aggregator, once, across a crash and restart of
 * the agent; a missing or wrong listen token is 401; the agent refuses to listen without a token.
 * mDNS is off here (--no-announce): it is tested in network namespaces only, elsewhere.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  memberNodesBody, memberStatsBody, observationsBody, readingsBody, type ClusterReadingsData, type ReadingsBody,
} from '../../shared/contracts/seed003'
import type { SeedEnvelope } from '../../shared/contracts/seed004'
import { killAgents, runAgent, startAgent, type AgentProcess } from './support/agent'
import { startDedicated, until, type Dedicated } from './support/dedicated'
import { freePort } from './support/server'

const work = mkdtempSync(join(tmpdir(), 'np-agent-listen-'))
const spool = join(work, 'spool')
const token = randomBytes(24).toString('hex')
let port: number
let base: string
let agent: AgentProcess
let agg: Dedicated

const listenArgs = () => ['--listen', String(port), '--listen-host', '127.0.0.1', '--no-announce', '--interval', '1', '--spool-dir', spool]
const start = async () => {
  agent = startAgent(listenArgs(), { NODEPULSE_LISTEN_TOKEN: token })
  await agent.waitFor('serving the member API')
}
const get = async (path: string, auth: string | null = `Bearer ${token}`, method = 'GET') => {
  const res = await fetch(`${base}${path}`, { method, headers: auth ? { authorization: auth } : {} })
  const text = await res.text()
  return { status: res.status, text, body: text ? JSON.parse(text) as unknown : undefined }
}

/** Every reading the agent keeps, page by page (100 a page, so the cursor is followed). */
async function agentReadings(from = 0): Promise<ReadingsBody['readings']> {
  const all: ReadingsBody['readings'] = []
  let since = String(from)
  for (;;) {
    const page = readingsBody.parse((await get(`/api/readings?since=${since}&limit=100`)).body)
    all.push(...page.readings)
    since = page.next_cursor
    if (!page.more) return all
  }
}

/** The aggregator's copies of the agent's samples, by timestamp (ms). */
async function aggregated(): Promise<number[]> {
  const res = await agg.call<SeedEnvelope<ClusterReadingsData>>('GET', '/api/cluster/readings?member=edge&limit=1000')
  expect(res.status, res.text).toBe(200)
  return res.body.data.readings.map(r => Date.parse(r.timestamp)).sort((a, b) => a - b)
}

beforeAll(async () => {
  port = await freePort()
  base = `http://127.0.0.1:${port}`
  await start()
  const file = join(work, 'nodepulse.yaml')
  writeFileSync(file, [
    'cluster:',
    '  enabled: true',
    '  aggregation_interval: 1',
    '  request_timeout: 2',
    '  discovery_method: manual',
    '  manual_nodes:',
    `    - { name: edge, url: "${base}", token: "${token}" }`,
  ].join('\n'))
  agg = await startDedicated('agent-listen-agg', { NODEPULSE_CONFIG: file })
}, 150_000)

afterEach(async () => {
  // Agents a test started for itself; the listening one is restarted by the test that stops it.
  if (agent.child.exitCode !== null || agent.child.signalCode !== null) await start()
})

afterAll(async () => {
  await killAgents()
  await agg?.stop()
  rmSync(work, { recursive: true, force: true })
})

describe('nodepulse agent --listen', () => {
  it('serves the member API bodies of seed 003 for its one node', async () => {
    await until('three readings', async () => (await agentReadings()).length >= 3, 15_000)
    const nodes = memberNodesBody.parse((await get('/api/nodes')).body)
    const instance = readFileSync(join(spool, 'instance'), 'utf8').trim()
    expect(nodes).toEqual({
      instance,
      nodes: [{ id: 1, source: `agent:${instance}`, hostname: hostname(), kind: 'agent', labels: {}, status: 'online', last_seen: expect.any(String), member: null }],
    })
    const stats = memberStatsBody.parse((await get('/api/stats')).body)
    expect(stats.totals).toMatchObject({ nodes: 1, online: 1, events: 0 })
    expect(stats.totals.samples).toBeGreaterThanOrEqual(3)
    expect(observationsBody.parse((await get('/api/observations?since=5')).body)).toEqual({ observations: [], next_cursor: '5', more: false })
    const health = await get('/api/health', null)
    expect(health.status).toBe(200)
    expect(health.body).toMatchObject({ status: 'ok', kind: 'agent' })
  })

  it('answers 401 without the token or with a wrong one, 400 for a bad cursor or limit, 405 for a write, 404 elsewhere', async () => {
    for (const path of ['/api/nodes', '/api/readings', '/api/observations', '/api/stats']) {
      const none = await get(path, null)
      expect(none.status, path).toBe(401)
      expect(none.body).toMatchObject({ statusCode: 401, message: expect.stringContaining('Authorization: Bearer') })
      expect((await get(path, `Bearer ${token}x`)).status, path).toBe(401)
      expect((await get(path, `Bearer ${token.slice(0, -1)}`)).status, path).toBe(401)
      expect((await get(path, token)).status, `${path}: no Bearer scheme`).toBe(401)
    }
    expect((await get('/api/readings?since=-1')).body).toMatchObject({ statusCode: 400, message: expect.stringContaining('since') })
    expect((await get('/api/readings?limit=1001')).body).toMatchObject({ statusCode: 400, message: expect.stringContaining('limit') })
    expect((await get('/api/readings', `Bearer ${token}`, 'POST')).status).toBe(405)
    expect((await get('/api/v1/nodes')).status).toBe(404)
  })

  it('refuses to start without a token (or with a short one) unless --listen-insecure, which serves on 127.0.0.1', async () => {
    const other = String(await freePort())
    const dir = join(work, 'other')
    const none = await runAgent(['--listen', other, '--no-announce', '--spool-dir', dir])
    expect(none.code).toBe(1)
    expect(none.output).toContain('refusing to listen without a token')
    const short = await runAgent(['--listen', other, '--no-announce', '--spool-dir', dir], { NODEPULSE_LISTEN_TOKEN: 'short' })
    expect(short.code).toBe(1)
    expect(short.output).toContain('at least 16')
    const insecure = startAgent(['--listen', other, '--listen-insecure', '--no-announce', '--interval', '1', '--spool-dir', dir])
    await insecure.waitFor('serving the member API on 127.0.0.1')
    const res = await fetch(`http://127.0.0.1:${other}/api/nodes`)
    expect(res.status).toBe(200)
    expect(await insecure.stop()).toBe(0)
  })

  it('is aggregated: its node and samples appear on the aggregator once, and a crash and restart neither loses nor repeats a reading', async () => {
    const instance = readFileSync(join(spool, 'instance'), 'utf8').trim()
    await until('the agent\'s node on the aggregator', async () => {
      const stats = memberStatsBody.parse((await agg.call('GET', '/api/stats')).body)
      return stats.nodes.some(n => n.source === `agent:${instance}` && n.samples >= 3)
    }, 30_000)
    const stats = memberStatsBody.parse((await agg.call('GET', '/api/stats')).body)
    expect(stats.nodes.filter(n => n.source === `agent:${instance}`)).toEqual([expect.objectContaining({ hostname: `edge / ${hostname()}`, kind: 'member', member: 'edge' })])

    // A crash: nothing flushed, the lock left behind; then the same agent again on the same spool.
    const beforeKill = await agentReadings()
    await agent.kill()
    await new Promise(r => setTimeout(r, 1500))
    await start()
    const last = beforeKill.at(-1)!
    await until('three readings after the restart', async () => (await agentReadings(last.id)).length >= 3, 15_000)
    const after = await agentReadings(last.id)
    for (const r of after) expect(Date.parse(r.timestamp), 'after the cursor: only readings taken after it').toBeGreaterThan(Date.parse(last.timestamp))
    const all = await agentReadings()
    expect(all.slice(0, beforeKill.length + after.length).map(r => r.id), 'the same readings under the same ids, none in between').toEqual([...beforeKill, ...after].map(r => r.id))
    const ids = all.map(r => r.id)
    expect(ids, 'ids rise across the restart').toEqual([...ids].sort((x, y) => x - y))
    expect(new Set(ids).size).toBe(ids.length)

    const ts = (list: { timestamp: string }[]) => list.map(r => Date.parse(r.timestamp))
    await until('the aggregator holds every reading the agent kept', async () => {
      const copies = new Set(await aggregated())
      return ts(all).every(t => copies.has(t))
    }, 20_000)
    const copies = await aggregated()
    const kept = new Set(ts(await agentReadings()))
    expect(copies.filter(t => !kept.has(t)), 'nothing on the aggregator the agent did not serve').toEqual([])
    expect(new Set(copies).size, 'each once').toBe(copies.length)
  })
})
