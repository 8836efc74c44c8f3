/**
 * Seed 003 end to end: two member servers with agents of their own, one aggregator polling them
 * (and three hostile members: garbage, a huge endless body, a slow answer) every second from the
 * YAML file at NODEPULSE_CONFIG. The aggregator shows every member's nodes, samples and events,
 * once, across restarts of either side; a stopped member turns unreachable with its reason and back.
 */
import { createServer, type Server } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NodeView } from '../../shared/contracts/rest'
import type { EventPage } from '../../shared/contracts/seed002'
import { clusterNodesData, envelope, otherClusterNode, type SeedEnvelope } from '../../shared/contracts/seed004'
import {
  memberStatsBody, type ClusterObservationsData, type ClusterReadingsData, type ClusterStatsData, type MemberStatsBody, type MemberView,
} from '../../shared/contracts/seed003'
import { startDedicated, until, type CreatedAgent, type Dedicated } from './support/dedicated'
import { startServer } from './support/server'

let a: Dedicated
let b: Dedicated
let agg: Dedicated
let hostile: Server
let dir: string
let agentA: CreatedAgent
let agentB: CreatedAgent

const sample = (secondsAgo: number, cpu: number) => ({ cpu_percent: cpu, memory_percent: 20, disk_percent: 30, timestamp: new Date(Date.now() - secondsAgo * 1000).toISOString() })

/** A loopback server that answers like a broken member under /garbage, /huge, /slow and /wrong. */
function startHostile(): Promise<{ server: Server, url: string }> {
  const server = createServer((req, res) => {
    const kind = req.url!.split('/')[1]
    if (kind === 'garbage') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"nodes": [oops')
    if (kind === 'wrong') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ instance: 5, nodes: 'none' }))
    if (kind === 'slow') {
      const timer = setTimeout(() => res.end('{}'), 20_000)
      res.on('close', () => clearTimeout(timer))
      return
    }
    // An endless body: the aggregator must stop reading at its limit.
    res.writeHead(200, { 'content-type': 'application/json' })
    const chunk = Buffer.alloc(64 * 1024, '[')
    const pump = () => {
      while (!res.destroyed && res.write(chunk));
    }
    res.on('drain', pump)
    pump()
  })
  return new Promise(done => server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    done({ server, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` })
  }))
}

async function viewerToken(d: Dedicated): Promise<string> {
  const res = await d.call<{ token: string }>('POST', '/api/v1/tokens', { json: { name: 'aggregator', role: 'viewer' } })
  expect(res.status, res.text).toBe(201)
  return res.body.token
}

const membersOf = async () => (await agg.call<MemberView[]>('GET', '/api/v1/members')).body
const memberNamed = async (name: string) => (await membersOf()).find(m => m.name === name)
const statsOf = async (d: Dedicated): Promise<MemberStatsBody> => memberStatsBody.parse((await d.call('GET', '/api/stats')).body)
const sourceOf = async (d: Dedicated, id: number) => (await statsOf(d)).nodes.find(n => n.id === id)!.source
/** The aggregator's copy of a member's node, by its stable source. */
const copyOf = async (source: string) => (await statsOf(agg)).nodes.find(n => n.source === source)
const eventsOf = async (d: Dedicated, query: string) => (await d.call<EventPage>('GET', `/api/v1/events?limit=500&${query}`)).body.events

/** Waits until the aggregator holds exactly the member's samples of this node. */
async function synced(member: Dedicated, id: number): Promise<void> {
  const source = await sourceOf(member, id)
  const want = (await statsOf(member)).nodes.find(n => n.id === id)!.samples
  await until(`${want} samples of ${source} on the aggregator`, async () => (await copyOf(source))?.samples === want, 20_000)
}

beforeAll(async () => {
  ;[a, b] = await Promise.all([startDedicated('fed-a', {}), startDedicated('fed-b', {})])
  agentA = await a.createAgent('web-01')
  agentB = await b.createAgent('db-01')
  await a.report(agentA, { samples: [sample(30, 11), sample(20, 12)] })
  await b.report(agentB, { samples: [sample(30, 21)] })
  const bad = await startHostile()
  hostile = bad.server
  dir = mkdtempSync(join(tmpdir(), 'nodepulse-fed-'))
  const file = join(dir, 'nodepulse.yaml')
  writeFileSync(file, [
    'cluster:',
    '  enabled: true',
    '  aggregation_interval: 1',
    '  request_timeout: 1',
    '  discovery_method: manual',
    '  manual_nodes:',
    `    - { name: site-a, url: "${a.baseURL}", token: "${await viewerToken(a)}" }`,
    `    - { name: site-b, url: "${b.baseURL}", token: "${await viewerToken(b)}" }`,
    ...['garbage', 'huge', 'slow', 'wrong'].map(k => `    - { name: ${k}, url: "${bad.url}/${k}", token: "t" }`),
  ].join('\n'))
  agg = await startDedicated('fed-agg', { NODEPULSE_CONFIG: file })
}, 150_000)

afterAll(async () => {
  await Promise.all([agg?.stop(), a?.stop(), b?.stop()])
  hostile?.closeAllConnections()
  hostile?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('federation: aggregating members', () => {
  it('registers every member\'s nodes under the member, once', async () => {
    await until('both members\' agents on the aggregator', async () => {
      const names = (await agg.call<NodeView[]>('GET', '/api/v1/nodes')).body.map(n => n.hostname)
      return names.includes('site-a / web-01') && names.includes('site-b / db-01')
    }, 20_000)
    const nodes = (await agg.call<NodeView[]>('GET', '/api/v1/nodes')).body
    const web = nodes.filter(n => n.hostname === 'site-a / web-01')
    expect(web).toHaveLength(1)
    expect(web[0]).toMatchObject({ kind: 'member', labels: { member: 'site-a', source: await sourceOf(a, agentA.id) } })
    expect(nodes.some(n => n.hostname === `site-b / ${b.srv.info.masterHostname}`)).toBe(true)
  })

  it('stores the members\' samples and events like pushed ones', async () => {
    await synced(a, agentA.id)
    await synced(b, agentB.id)
    const copy = await copyOf(await sourceOf(a, agentA.id))
    expect(copy).toMatchObject({ samples: 2, cpu_percent: 12, member: 'site-a' })
    const res = await a.call('POST', `/api/v1/nodes/${agentA.id}/events`, { auth: { bearer: agentA.token }, json: { event_type: 'error_report', message: 'disk on fire' } })
    expect(res.status, res.text).toBeLessThan(300)
    await until('the event on the aggregator', async () => (await eventsOf(agg, 'event_type=error_report')).some(e => e.message === 'disk on fire'), 20_000)
    const [event] = (await eventsOf(agg, 'event_type=error_report')).filter(e => e.message === 'disk on fire')
    expect(event!.node_id).toBe(copy!.id)
    expect(event!.data).toMatchObject({ member: 'site-a' })
    // Status changes are the aggregator's own (its watcher sees the copy); the member's would alert twice.
    expect((await eventsOf(a, `node_id=${agentA.id}&event_type=node_status_update`)).length).toBeGreaterThan(0)
    const status = await eventsOf(agg, `node_id=${copy!.id}&event_type=node_status_update`)
    expect(status.length).toBeGreaterThan(0)
    expect(status.filter(e => 'member' in e.data)).toEqual([])
  })

  it('marks hostile members unreachable with the reason, without delaying the good ones', async () => {
    await until('every hostile member unreachable', async () => (await membersOf()).filter(m => m.reachable === false).length === 4, 20_000)
    const byName = Object.fromEntries((await membersOf()).map(m => [m.name, m]))
    expect(byName.garbage!.last_error).toContain('invalid JSON')
    expect(byName.wrong!.last_error).toContain('unexpected shape')
    expect(byName.huge!.last_error).toContain('more than')
    expect(byName.slow!.last_error).toContain('no answer within 1 s')
    expect(byName['site-a']).toMatchObject({ reachable: true, last_error: null })
    // The good members are polled every second although the slow one hangs each time.
    const before = (await memberNamed('site-a'))!.last_ok_at!
    await until('site-a polled again', async () => (await memberNamed('site-a'))!.last_ok_at! > before, 3_500)
    const unreachable = (await eventsOf(agg, 'event_type=node_unreachable')).filter(e => e.resource_type === 'member')
    expect(unreachable.map(e => e.cluster_id).sort()).toEqual(['garbage', 'huge', 'slow', 'wrong'])
    expect((await agg.call('GET', '/api/health')).status).toBe(200)
  })

  it('serves the cluster API in seed 004\'s envelope: nodes, readings, observations, stats', async () => {
    const nodes = envelope(clusterNodesData).parse((await agg.call('GET', '/api/cluster/nodes')).body).data.nodes
    const web = nodes.map(n => otherClusterNode.safeParse(n)).find(r => r.success && r.data.name === 'site-a / web-01')
    expect(web?.data).toMatchObject({ kind: 'member', member: 'site-a', url: a.baseURL, reachable: true, status: 'online' })
    expect(web!.data!.last_seen).not.toBeNull()
    const webId = Number(web!.data!.nodeId)

    const byMember = await agg.call<SeedEnvelope<ClusterReadingsData>>('GET', '/api/cluster/readings?member=site-a&limit=1000')
    expect(byMember.status, byMember.text).toBe(200)
    expect(byMember.body.status).toBe('success')
    expect(byMember.body.data.readings.length).toBeGreaterThan(0)
    expect(byMember.body.data.readings.every(r => r.node.member === 'site-a')).toBe(true)
    const one = (await agg.call<SeedEnvelope<ClusterReadingsData>>('GET', `/api/cluster/readings?node=${webId}`)).body.data
    expect(one.readings.map(r => r.cpu_percent)).toEqual([11, 12])
    expect(one.readings[0]!.node).toEqual({ id: webId, hostname: 'site-a / web-01', kind: 'member', member: 'site-a' })
    const after = (await agg.call<SeedEnvelope<ClusterReadingsData>>('GET', `/api/cluster/readings?node=${webId}&since=${one.next_cursor}`)).body.data
    expect(after.readings).toEqual([])
    expect((await agg.call('GET', '/api/cluster/readings?limit=5000')).status).toBe(400)
    expect((await agg.call('GET', '/api/cluster/observations?node=x')).status).toBe(400)

    const obs = (await agg.call<SeedEnvelope<ClusterObservationsData>>('GET', '/api/cluster/observations?member=site-a&limit=1000')).body.data
    expect(obs.observations.find(o => o.message === 'disk on fire')?.node).toMatchObject({ id: webId, member: 'site-a' })
    expect(obs.observations.every(o => o.data.member === 'site-a')).toBe(true)

    const stats = (await agg.call<SeedEnvelope<ClusterStatsData>>('GET', '/api/cluster/stats')).body.data
    const memberA = await statsOf(a)
    const siteA = stats.members.find(m => m.name === 'site-a')!
    expect(siteA).toMatchObject({ reachable: true, last_error: null, nodes: memberA.nodes.length })
    expect(stats.members.find(m => m.name === 'slow')).toMatchObject({ reachable: false, nodes: 0 })
    expect(stats.totals.members).toBe(stats.members.length)
    expect(stats.totals.reachable_members).toBe(2)
    expect(stats.totals.nodes).toBe(stats.nodes.length)
    expect(stats.nodes.find(n => n.id === webId)).toMatchObject({ samples: memberA.nodes.find(n => n.id === agentA.id)!.samples, member: 'site-a' })
    expect((await agg.call('GET', '/api/cluster/stats', { auth: null })).status).toBe(401)
  })

  it('neither loses nor repeats rows across an aggregator restart', async () => {
    await agg.srv.restart(async () => {
      await a.report(agentA, { samples: [sample(10, 13)] })
    })
    await synced(a, agentA.id)
    await synced(b, agentB.id)
    expect((await copyOf(await sourceOf(a, agentA.id)))!.samples).toBe(3)
    expect((await eventsOf(agg, 'event_type=error_report')).filter(e => e.message === 'disk on fire')).toHaveLength(1)
  })

  it('turns a stopped member unreachable with last_error, and reachable again when it is back, losing nothing', async () => {
    await b.srv.restart(async () => {
      await until('site-b unreachable', async () => (await memberNamed('site-b'))?.reachable === false, 10_000)
      expect((await memberNamed('site-b'))!.last_error).toContain('connection refused')
    })
    await b.report(agentB, { samples: [sample(5, 22), sample(4, 23)] })
    await until('site-b reachable again', async () => (await memberNamed('site-b'))?.reachable === true, 10_000)
    await synced(b, agentB.id)
    expect((await copyOf(await sourceOf(b, agentB.id)))!.samples).toBe(3)
    const changes = (await eventsOf(agg, 'cluster_id=site-b')).filter(e => e.resource_type === 'member').map(e => e.event_type)
    expect(changes).toEqual(['node_reachable', 'node_unreachable'])
  })

  it('keeps one node, and one copy of each sample and event, when a member is reached through two paths', async () => {
    const mirror = await agg.call<MemberView>('POST', '/api/v1/members', { json: { name: 'site-a-mirror', url: a.baseURL, token: await viewerToken(a) } })
    expect(mirror.status, mirror.text).toBe(201)
    // Reachable is recorded after a poll has pulled everything: the mirror has seen all of site-a.
    await until('the mirror polled', async () => (await memberNamed('site-a-mirror'))?.reachable === true, 15_000)
    const source = await sourceOf(a, agentA.id)
    const copies = (await agg.call<NodeView[]>('GET', '/api/v1/nodes')).body.filter(n => n.labels.source === source)
    expect(copies.map(n => n.hostname)).toEqual(['site-a / web-01'])
    expect((await memberNamed('site-a-mirror'))!.nodes).toBe(0)
    await synced(a, agentA.id)
    expect((await eventsOf(agg, 'event_type=error_report')).filter(e => e.message === 'disk on fire')).toHaveLength(1)
    expect((await agg.call('DELETE', `/api/v1/members/${mirror.body.id}`)).status).toBe(204)
  })

  it('refuses to start with a bad NODEPULSE_CONFIG, naming the line and the field', async () => {
    const file = join(dir, 'bad.yaml')
    writeFileSync(file, 'cluster:\n  enabled: true\n  request_timeout: soon\n')
    await expect(startServer({ label: 'fed-bad', env: { NODEPULSE_CONFIG: file } })).rejects.toThrow(/bad\.yaml line 3, cluster\.request_timeout: must be a number of seconds/)
  })

  it('manages members through the API (admin only)', async () => {
    const viewer = await viewerToken(agg)
    expect((await agg.call('GET', '/api/v1/members', { auth: { bearer: viewer } })).status).toBe(403)
    const bad = await agg.call('POST', '/api/v1/members', { json: { name: 'x y', url: 'ftp://h', token: '' } })
    expect(bad.status).toBe(422)
    const added = await agg.call<MemberView>('POST', '/api/v1/members', { json: { name: 'site-c', url: 'http://127.0.0.1:9', token: 't' } })
    expect(added.status, added.text).toBe(201)
    expect(added.body).not.toHaveProperty('token')
    expect((await agg.call('POST', '/api/v1/members', { json: { name: 'site-c', url: 'http://127.0.0.1:9', token: 't' } })).status).toBe(409)
    await until('site-c unreachable', async () => (await memberNamed('site-c'))?.reachable === false, 10_000)
    expect((await agg.call('DELETE', `/api/v1/members/${added.body.id}`)).status).toBe(204)
    expect((await agg.call('DELETE', `/api/v1/members/${added.body.id}`)).status).toBe(404)
    expect(await memberNamed('site-c')).toBeUndefined()
  })
})
