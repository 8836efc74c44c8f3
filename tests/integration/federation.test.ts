/**
 * Seed 003 end to end: two member servers with agents of their own, one aggregator polling them
 * (and three hostile members: garbage, a huge endless body, a slow answer) every second from the
 * YAML file at NODEPULSE_CONFIG. The aggregator shows every member's nodes, samples and events,
 * once, across restarts of either side; a stopped member turns unreachable with its reason and back.
 */
import { createServer, type Server } from 'node:http'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
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
let configFile: string
let agentA: CreatedAgent
let agentB: CreatedAgent

const sample = (secondsAgo: number, cpu: number) => ({ cpu_percent: cpu, memory_percent: 20, disk_percent: 30, timestamp: new Date(Date.now() - secondsAgo * 1000).toISOString() })

/** What each hostile member answers, and the reason the aggregator must give for it. */
const HOSTILE: Record<string, string | RegExp> = {
  garbage: 'invalid JSON',
  wrong: 'unexpected shape',
  // Cut at 8 MB, or at the timeout when the test process (the sender) is too busy to send 8 MB in 3 s.
  huge: /more than 8 MB|no answer within 3 s/,
  big: 'more than 8 MB',
  slow: 'no answer within 3 s',
  drip: 'no answer within 3 s',
  status: 'answered HTTP 503',
}

/**
 * A loopback server that answers like a broken member: /garbage (not JSON), /wrong (wrong types),
 * /huge (an endless body), /big (50 MB, announced in Content-Length), /slow (no answer for 20 s),
 * /drip (headers at once, then a byte every 100 ms for ever) and /status (HTTP 503).
 */
/** Requests each hostile member has had, by kind. */
const hostileRequests = new Map<string, number>()

function startHostile(): Promise<{ server: Server, url: string }> {
  const server = createServer((req, res) => {
    const kind = req.url!.split('/')[1]!
    hostileRequests.set(kind, (hostileRequests.get(kind) ?? 0) + 1)
    if (kind === 'garbage') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"nodes": [oops')
    if (kind === 'wrong') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ instance: 5, nodes: 'none' }))
    if (kind === 'status') return res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"down for maintenance"}')
    if (kind === 'slow' || kind === 'drip') {
      if (kind === 'drip') res.writeHead(200, { 'content-type': 'application/json' }).write('[')
      const timer = kind === 'slow' ? setTimeout(() => res.end('{}'), 20_000) : setInterval(() => res.write(' '), 100)
      res.on('close', () => clearTimeout(timer))
      return
    }
    // An endless body, or 50 MB said up front: the aggregator must stop reading at its limit.
    res.writeHead(200, { 'content-type': 'application/json', ...(kind === 'big' ? { 'content-length': String(50 * 1024 * 1024) } : {}) })
    const chunk = Buffer.alloc(64 * 1024, '[')
    let left = kind === 'big' ? 50 * 1024 * 1024 : Infinity
    const pump = () => {
      while (!res.destroyed && left > 0) {
        left -= chunk.length
        if (!res.write(chunk)) return
      }
      if (left <= 0) res.end()
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
  configFile = join(dir, 'nodepulse.yaml')
  writeFileSync(configFile, [
    'cluster:',
    '  enabled: true',
    '  aggregation_interval: 1',
    // Long enough that a good member on a loaded machine always answers in time.
    '  request_timeout: 3',
    '  discovery_method: manual',
    '  manual_nodes:',
    `    - { name: site-a, url: "${a.baseURL}", token: "${await viewerToken(a)}" }`,
    `    - { name: site-b, url: "${b.baseURL}", token: "${await viewerToken(b)}" }`,
    ...Object.keys(HOSTILE).map(k => `    - { name: ${k}, url: "${bad.url}/${k}", token: "t" }`),
  ].join('\n'))
  agg = await startDedicated('fed-agg', { NODEPULSE_CONFIG: configFile })
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
    const hostile = Object.keys(HOSTILE)
    const down = async () => (await membersOf()).filter(m => m.reachable === false).map(m => m.name).sort()
    await until('every hostile member unreachable, and only they', async () => {
      const list = await down()
      return hostile.every(name => list.includes(name)) && list.length === hostile.length
    }, 20_000)
      .catch(async (error: Error) => {
        throw new Error(`${error.message}; the members: ${JSON.stringify((await membersOf()).map(m => [m.name, m.reachable, m.last_error, m.last_polled_at]))}\n${agg.srv.output().slice(-3000)}`)
      })
    const byName = Object.fromEntries((await membersOf()).map(m => [m.name, m]))
    for (const [name, reason] of Object.entries(HOSTILE)) expect(byName[name]!.last_error, name).toMatch(reason)
    expect(byName['site-a']).toMatchObject({ reachable: true, last_error: null })
    // The good members are polled every second although the slow ones hang 3 s each time: had a
    // round waited for them, no two good polls would be less than 3 s apart (the shortest of five
    // gaps is taken, as a loaded machine stretches some).
    const oks = [(await memberNamed('site-a'))!.last_ok_at!]
    await until('site-a polled five times more', async () => {
      const at = (await memberNamed('site-a'))!.last_ok_at!
      if (at !== oks.at(-1)) oks.push(at)
      return oks.length >= 6
    }, 40_000)
    const gaps = oks.slice(2).map((at, i) => Date.parse(at) - Date.parse(oks[i + 1]!))
    expect(Math.min(...gaps), `the gaps between good polls: ${gaps.join(', ')} ms`).toBeLessThan(2500)
    const unreachable = (await eventsOf(agg, 'event_type=node_unreachable')).filter(e => e.resource_type === 'member')
    expect(unreachable.map(e => `${e.cluster_id}: ${e.message}`).sort()).toEqual(hostile.sort().map(name => expect.stringMatching(new RegExp(`^${name}: `))))
    // Each is still polled (and still fails) every interval: none was dropped after its first failure.
    const polled = (await memberNamed('drip'))!.last_polled_at!
    await until('drip polled again', async () => (await memberNamed('drip'))!.last_polled_at! > polled, 10_000)
    expect((await agg.call('GET', '/api/health')).status).toBe(200)
  }, 90_000)

  it('serves the cluster API in seed 004\'s envelope: nodes, readings, observations, stats', async () => {
    const nodes = envelope(clusterNodesData).parse((await agg.call('GET', '/api/cluster/nodes')).body).data.nodes
    const web = nodes.map(n => otherClusterNode.safeParse(n)).find(r => r.success && r.data.name === 'site-a / web-01')
    expect(web?.data).toMatchObject({ kind: 'member', member: 'site-a', url: a.baseURL, reachable: true, last_error: null, status: 'online' })
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

  it('neither loses nor repeats rows across an aggregator restart; a member taken out of the file is no longer polled', async () => {
    const config = readFileSync(configFile, 'utf8')
    await agg.srv.restart(async () => {
      await a.report(agentA, { samples: [sample(10, 13)] })
      writeFileSync(configFile, config.split('\n').filter(l => !l.includes('name: garbage,')).join('\n'))
    })
    expect((await membersOf()).map(m => m.name)).not.toContain('garbage')
    expect((await membersOf()).map(m => m.name)).toContain('wrong')
    await synced(a, agentA.id)
    await synced(b, agentB.id)
    expect((await copyOf(await sourceOf(a, agentA.id)))!.samples).toBe(3)
    expect((await eventsOf(agg, 'event_type=error_report')).filter(e => e.message === 'disk on fire')).toHaveLength(1)
  })

  it('turns a stopped member unreachable within request_timeout + aggregation_interval, and reachable again when it is back; what it recorded while away arrives once', async () => {
    const memberChanges = async () => (await eventsOf(agg, 'cluster_id=site-b')).filter(e => e.resource_type === 'member')
    const stopping = Date.now()
    let away = { from: 0, to: 0 }
    await b.srv.restart(async () => {
      away.from = Date.now()
      await until('site-b unreachable', async () => (await memberNamed('site-b'))?.reachable === false, 10_000)
      // A poll while it was shutting down may have found the connection reset; once it is gone, refused.
      await until('site-b refusing connections', async () => (await memberNamed('site-b'))!.last_error!.includes('connection refused'), 10_000)
      // Its nodes keep their last state, marked with the member's reason (the cards show it).
      const listed = envelope(clusterNodesData).parse((await agg.call('GET', '/api/cluster/nodes?kind=member')).body).data.nodes
      const db01 = listed.map(n => otherClusterNode.parse(n)).find(n => n.name === 'site-b / db-01')
      expect(db01).toMatchObject({ member: 'site-b', reachable: false, last_error: expect.stringContaining('connection refused'), status: 'online' })
      away = { ...away, to: Date.now() }
    })
    // The aggregator's own record of when it found out: at most one interval (1 s) and one timeout
    // (3 s) after the member began to stop, with a second to spare for a loaded machine.
    const [down] = (await memberChanges()).filter(e => e.event_type === 'node_unreachable')
    expect(Date.parse(down!.created_at) - stopping).toBeLessThanOrEqual(1000 + 3000 + 1000)
    expect(down!.data).toMatchObject({ last_error: expect.stringMatching(/^connection (refused|reset)$|answered HTTP 5\d\d/) })
    // What the member's agent took while the member was away (its spool), sent now that it is back.
    const during = [away.from + (away.to - away.from) / 3, away.from + (2 * (away.to - away.from)) / 3].map(t => new Date(Math.round(t)).toISOString())
    await b.report(agentB, { samples: during.map((timestamp, i) => ({ ...sample(0, 22 + i), timestamp })) })
    await until('site-b reachable again', async () => (await memberNamed('site-b'))?.reachable === true, 10_000)
    await synced(b, agentB.id)
    const copy = (await copyOf(await sourceOf(b, agentB.id)))!
    expect(copy.samples).toBe(3)
    const pulled = (await agg.call<SeedEnvelope<ClusterReadingsData>>('GET', `/api/cluster/readings?node=${copy.id}&limit=1000`)).body.data.readings
    expect(pulled.filter(r => during.includes(r.timestamp)).map(r => r.cpu_percent)).toEqual([22, 23])
    expect((await memberChanges()).map(e => e.event_type)).toEqual(['node_reachable', 'node_unreachable'])
  }, 90_000)

  it('aggregates the stats correctly: each member\'s share is what its own /api/stats says', async () => {
    const clusterStats = async () => (await agg.call<SeedEnvelope<ClusterStatsData>>('GET', '/api/cluster/stats')).body.data
    const counts = (t: Omit<MemberStatsBody['totals'], 'events'>) => [t.nodes, t.online, t.stale, t.offline].join()
    for (const [name, member] of [['site-a', a], ['site-b', b]] as const) {
      // The member's master samples every second; its other nodes hold still and must match exactly.
      const still = (n: MemberStatsBody['nodes'][number]) => n.kind !== 'master'
      let own = await statsOf(member)
      await until(`${name}'s stats on the aggregator`, async () => {
        own = await statsOf(member)
        const data = await clusterStats()
        const share = data.members.find(m => m.name === name)
        return share !== undefined && counts(share) === counts(own.totals)
          && own.nodes.filter(still).every(n => data.nodes.find(c => c.source === n.source)?.samples === n.samples)
      }, 20_000)
      const data = await clusterStats()
      const after = await statsOf(member)
      for (const n of own.nodes) {
        const copy = data.nodes.find(c => c.source === n.source)
        expect(copy, `${name}'s ${n.hostname}`).toMatchObject({ hostname: `${name} / ${n.hostname}`, member: name, kind: 'member', status: n.status })
        if (still(n)) expect(copy).toMatchObject({ samples: n.samples, cpu_percent: n.cpu_percent, memory_percent: n.memory_percent, disk_percent: n.disk_percent })
        // The master's copy trails by what arrived since the last poll (one interval, one cache interval).
        else expect(copy!.samples).toSatisfy((c: number) => c <= after.nodes.find(m => m.source === n.source)!.samples && c >= n.samples - 5)
      }
      const share = data.members.find(m => m.name === name)!
      expect(share.samples).toBe(data.nodes.filter(c => c.member === name).reduce((t, c) => t + c.samples, 0))
    }
    const data = await clusterStats()
    const own = data.nodes.filter(n => n.member === null)
    const sum = (key: 'nodes' | 'online' | 'stale' | 'offline' | 'samples') => data.members.reduce((t, m) => t + m[key], 0)
    expect(data.totals.nodes).toBe(own.length + sum('nodes'))
    expect(data.totals.samples).toBe(own.reduce((t, n) => t + n.samples, 0) + sum('samples'))
    expect(data.totals.online + data.totals.stale + data.totals.offline).toBe(data.totals.nodes)
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

  it.runIf(inject('server').driver === 'postgres')('is polled by the leader only when a second instance shares the database', async () => {
    // The 503 member fails at its first request, so it has one request per poll, one poll a second.
    const pollsIn = async (ms: number) => {
      const before = hostileRequests.get('status') ?? 0
      await new Promise(r => setTimeout(r, ms))
      return (hostileRequests.get('status') ?? 0) - before
    }
    const alone = await pollsIn(5000)
    expect(alone, 'the aggregator polls the 503 member about once a second').toBeGreaterThanOrEqual(3)
    const second = await startServer({ label: 'fed-agg-2', databaseUrl: agg.databaseUrl!, env: { NODEPULSE_CONFIG: configFile, NODEPULSE_ADMIN_PASSWORD: agg.srv.info.adminPassword } })
    try {
      const health = await (await fetch(`${second.info.baseURL}/api/health`)).json() as { leader?: boolean }
      expect(health.leader, 'the second instance does not lead').toBe(false)
      const both = await pollsIn(5000)
      // Two pollers would double it; leave room for the machine's load.
      expect(both, `polls in 5 s with two instances up (${alone} with one)`).toBeLessThanOrEqual(Math.ceil(alone * 1.5) + 1)
    }
    finally {
      await second.stop()
    }
  }, 90_000)

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
