/**
 * Seed 001's named-event channels (/stream/*), its REST aggregates (/api/realtime/*), hub stats
 * and their Prometheus counters, read as the seed's own Go client reads them.
 *
 * Its own server: fast ticks (stats 0.5 s, nodes 1 s, heartbeat 1 s) and a master that samples
 * itself once at start-up only, so every report and log a test sees is one it caused, and hub
 * counters move only with this file's clients.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { EventsMessage, LogsMessage, NodeAggregate, NodesMessage, ReportMessage, StatsMessage } from '../../shared/contracts/seed001'
import type { NodeView } from '../../shared/contracts/rest'
import {
  CHANNEL_NAMES, dataOf, ID, ISO_UTC, LOG_KEYS, NODE_AGGREGATE_KEYS, NODE_ENTRY_KEYS, positionOf, REPORT_KEYS, secondsOf, STATS_KEYS, stamp,
} from './support/channels'
import { startDedicated, until, sleep, type Dedicated } from './support/dedicated'
import { streamSSE, type SSEEvent } from './support/goClient'
import { parseProm } from './support/prom'
import { openStream, type SseMessage, type SseStream } from './sse'

let d: Dedicated
beforeAll(async () => {
  d = await startDedicated('channels', {
    NODEPULSE_STREAM_STATS_INTERVAL: '0.5',
    NODEPULSE_STREAM_NODES_INTERVAL: '1',
    NODEPULSE_STREAM_LOGS_INTERVAL: '1',
    NODEPULSE_HEARTBEAT_INTERVAL: '1',
    NODEPULSE_SAMPLE_INTERVAL: '3600',
  })
})
afterAll(() => d?.stop())

let open: SseStream[] = []
afterEach(() => {
  open.forEach(s => s.close())
  open = []
})

type StreamAuth = { cookie: string } | { bearer: string } | undefined
/** Opens a stream on this file's server (admin bearer unless told), closed after the test. */
async function stream(path: string, auth: StreamAuth | null = { bearer: d.bearer }, headers: Record<string, string> = {}): Promise<SseStream> {
  const s = await openStream(path, auth ?? undefined, headers, d.baseURL)
  open.push(s)
  return s
}

const named = (event: string) => (m: SseMessage) => m.event === event
const NO_SUBSCRIPTIONS = Object.fromEntries(CHANNEL_NAMES.map(c => [c, 0]))
/** A message id is `<unix-seconds>-<position>` with the seconds of the moment it was sent. */
function expectFreshId(m: SseMessage) {
  expect(m.id, `${m.event} message`).toMatch(ID)
  expect(Math.abs(secondsOf(m) - Math.floor(m.receivedAt / 1000)), `seconds in id ${m.id}`).toBeLessThanOrEqual(1)
}
const mean = (values: (number | null)[]) => {
  const v = values.filter((x): x is number => x !== null)
  return v.length ? Math.round((v.reduce((a, b) => a + b, 0) / v.length) * 10) / 10 : null
}

describe('seed 001 channels: wire format', () => {
  it('every path answers 200 text/event-stream, starting with retry: 3000 and a connected event naming its channels', async () => {
    const expected: Record<string, string[]> = {
      stats: ['stats'], logs: ['logs'], events: ['events'], nodes: ['nodes'], providers: ['nodes'], reports: ['reports'], requests: ['reports'],
      heartbeat: ['heartbeat'], all: ['stats', 'logs', 'events', 'nodes', 'reports', 'heartbeat'],
    }
    for (const [path, channels] of Object.entries(expected)) {
      const s = await stream(`/stream/${path}`)
      expect(s.status, path).toBe(200)
      expect(s.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
      expect(s.headers.get('cache-control')).toBe('no-cache, no-transform')
      expect(s.headers.get('x-accel-buffering')).toBe('no')
      expect(s.headers.get('content-encoding')).toBeNull()
      const first = await s.next(() => true)
      expect(first.retry, path).toBe(3000)
      expect(first.event, path).toBe('connected')
      expectFreshId(first)
      const data = dataOf<{ timestamp: number, channels: string[] }>(first)
      expect(Object.keys(data).sort()).toEqual(['channels', 'timestamp'])
      expect(data.channels, path).toEqual(channels)
      expect(Math.abs(data.timestamp - Math.floor(first.receivedAt / 1000))).toBeLessThanOrEqual(1)
      // Snapshot channels start with their current state at once, without retry.
      if (['stats', 'nodes', 'providers', 'all'].includes(path)) {
        const second = await s.next(m => m.data !== undefined, 1000)
        expect(second.event).toBe(path === 'providers' || path === 'nodes' ? 'nodes' : 'stats')
        expect(second.retry).toBeUndefined()
      }
      s.close()
    }
  })

  it('stats: every 0.5 s, the seed\'s fields, and exact aggregates of the reports a node sent', async () => {
    const agent = await d.createAgent(undefined, { cluster: 'stats' })
    const s = await stream('/stream/stats')
    await s.next(named('connected'))
    const firstMsg = await s.next(named('stats'), 2000)
    expectFreshId(firstMsg)
    const before = dataOf<StatsMessage>(firstMsg)
    expect(Object.keys(before).sort()).toEqual(STATS_KEYS)
    expect(before.nodes.find(n => n.node_id === agent.id)).toEqual({
      node_id: agent.id, hostname: agent.hostname, status: 'offline', is_master: false, cpu_percent: null, memory_percent: null,
      disk_percent: null, active_backups: null, last_seen: null, reports: 0, avg_cpu_percent: null, avg_memory_percent: null, avg_disk_percent: null,
    } satisfies NodeAggregate)

    const base = Date.now()
    await d.report(agent, { samples: [
      stamp(base, 3000, { cpu_percent: 10, memory_percent: 40, disk_percent: 50, active_backups: 1, uptime_seconds: 100 }),
      stamp(base, 2000, { cpu_percent: 20, disk_percent: 60, active_backups: 2 }),
      stamp(base, 1000, { cpu_percent: 30.5, memory_percent: 60, disk_percent: 70, active_backups: 3, uptime_seconds: 102 }),
    ] })
    const bad = await d.call('POST', `/api/v1/nodes/${agent.id}/stats`, { json: { cpu_percent: 1, disk_percent: 1 }, auth: { bearer: 'npa_wrong' } })
    expect(bad.status).toBe(401)

    const msg = await s.next(m => m.event === 'stats' && dataOf<StatsMessage>(m).rejected_reports === before.rejected_reports + 1
      && dataOf<StatsMessage>(m).nodes.some(n => n.node_id === agent.id && n.reports === 3), 3000)
    expectFreshId(msg)
    const after = dataOf<StatsMessage>(msg)
    const node = after.nodes.find(n => n.node_id === agent.id)!
    expect(node).toEqual({
      node_id: agent.id, hostname: agent.hostname, status: 'online', is_master: false, cpu_percent: 30.5, memory_percent: 60, disk_percent: 70,
      active_backups: 3, last_seen: node.last_seen, reports: 3, avg_cpu_percent: 20.2, avg_memory_percent: 50, avg_disk_percent: 60,
    } satisfies NodeAggregate)
    expect(node.last_seen).toMatch(ISO_UTC)
    expect(Math.abs(Date.parse(node.last_seen!) - base)).toBeLessThan(5000)
    expect(after.total_reports).toBe(before.total_reports + 3)
    expect(after.rejected_reports).toBe(before.rejected_reports + 1)
    // The last minute slides between the two reads: an older window's pro-rata share may move by a fraction.
    expect(Math.abs(after.reports_per_minute - (before.reports_per_minute + 3))).toBeLessThanOrEqual(1)

    // The cluster figures are those of the nodes listed in the same message (all of them: fewer than
    // STATS_NODES_MAX), the most active first.
    const nodes = await d.call<NodeView[]>('GET', '/api/v1/nodes')
    expect(after.nodes.map(n => n.node_id).sort((a, b) => a - b)).toEqual(nodes.body.map(n => n.id))
    expect(after.nodes.map(n => n.node_id)).toEqual([...after.nodes].sort((a, b) => b.reports - a.reports || a.node_id - b.node_id).map(n => n.node_id))
    expect(after.providers_total).toBe(after.total_nodes)
    for (const n of after.nodes) expect(Object.keys(n).sort()).toEqual(NODE_AGGREGATE_KEYS)
    expect(after.total_nodes).toBe(after.nodes.length)
    expect(after.online).toBe(after.nodes.filter(n => n.status === 'online').length)
    expect(after.stale).toBe(after.nodes.filter(n => n.status === 'stale').length)
    expect(after.offline).toBe(after.nodes.filter(n => n.status === 'offline').length)
    expect(after.online + after.stale + after.offline).toBe(after.total_nodes)
    // Seed 001's words for the same figures.
    expect(after.total_requests).toBe(after.total_reports)
    expect(after.providers).toEqual(after.nodes.map(n => ({ provider_id: n.node_id, total_requests: n.reports })))
    expect([after.total_tokens, after.total_cost]).toEqual([0, 0])
    expect(after.avg_cpu_percent).toBe(mean(after.nodes.map(n => n.cpu_percent)))
    expect(after.avg_memory_percent).toBe(mean(after.nodes.map(n => n.memory_percent)))
    expect(after.avg_disk_percent).toBe(mean(after.nodes.map(n => n.disk_percent)))
    expect(after.active_backups).toBe(after.nodes.reduce((a, n) => a + (n.active_backups ?? 0), 0))
    for (const f of ['timestamp', 'window_start', 'last_updated'] as const) expect(Number.isInteger(after[f]), f).toBe(true)
    expect(after.window_start).toBeLessThanOrEqual(after.timestamp)
    expect(Math.abs(after.last_updated - Math.floor(base / 1000))).toBeLessThanOrEqual(2)

    // Ticks every 0.5 s (measured over four gaps, so one late tick on a busy machine does not decide it).
    const at: number[] = []
    for (let i = 0; i < 5; i++) at.push((await s.next(named('stats'), 2000)).receivedAt)
    const avgGap = (at[4]! - at[0]!) / 4
    expect(avgGap).toBeGreaterThan(400)
    expect(avgGap).toBeLessThan(650)
    expect(s.messages.every(m => m.event === 'connected' || m.event === 'stats' || m.event === 'heartbeat' || m.comment === 'heartbeat')).toBe(true)
  })

  it('events (the event log): node_registered and node_removed rows with exact fields, batched, ids in order, the message id naming the last row', async () => {
    const s = await stream('/stream/events')
    await s.next(named('connected'))
    const hostname = `logs-${Date.now()}`
    const agent = await d.createAgent(hostname, { cluster: 'blue', rack: '7' })
    expect((await d.call('DELETE', `/api/v1/nodes/${agent.id}`)).status).toBe(204)
    const more = [await d.createAgent(), await d.createAgent(), await d.createAgent()]

    // The watcher logs the fleet turning degraded (nodes that never reported) alongside: only this test's nodes' rows count.
    const mine = new Set([agent.id, ...more.map(a => a.id)])
    const ours = (r: EventsMessage['logs'][number]) => r.node_id !== null && mine.has(r.node_id)
    const rows: EventsMessage['logs'] = []
    const messages: SseMessage[] = []
    while (rows.filter(ours).length < 5) {
      const m = await s.next(named('events'), 3000)
      messages.push(m)
      rows.push(...dataOf<EventsMessage>(m).logs)
    }
    await sleep(1300)
    expect(s.messages.filter(named('events')).flatMap(m => dataOf<EventsMessage>(m).logs).filter(ours), 'no further rows of these nodes').toHaveLength(5)
    for (const m of messages) {
      expectFreshId(m)
      const data = dataOf<EventsMessage>(m)
      expect(Object.keys(data).sort()).toEqual(['count', 'logs', 'timestamp'])
      expect(data.count).toBe(data.logs.length)
      expect(data.count).toBeGreaterThan(0)
      expect(positionOf(m)).toBe(data.logs.at(-1)!.id)
      expect(Math.abs(data.timestamp - Math.floor(m.receivedAt / 1000))).toBeLessThanOrEqual(1)
    }
    const ids = rows.map(r => r.id)
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
    expect(new Set(ids).size).toBe(ids.length)
    for (const r of rows) {
      expect(Object.keys(r).sort()).toEqual(LOG_KEYS)
      expect(r.created_at).toMatch(ISO_UTC)
      expect(r.timestamp).toBe(Math.floor(Date.parse(r.created_at) / 1000))
    }
    const strip = ({ id: _id, created_at: _c, timestamp: _t, ...rest }: EventsMessage['logs'][number]) => rest
    const unacknowledged = { acknowledged_at: null, acknowledged_by: null, incident_id: null }
    expect(rows.filter(ours).map(strip)).toEqual([
      { event_type: 'node_registered', severity: 'info', node_id: agent.id, cluster_id: 'blue', resource_type: 'node', message: `Node ${hostname} added`, data: { hostname }, ...unacknowledged },
      { event_type: 'node_removed', severity: 'warning', node_id: agent.id, cluster_id: 'blue', resource_type: 'node', message: `Node ${hostname} removed`, data: { hostname, labels: { cluster: 'blue', rack: '7' } }, ...unacknowledged },
      ...more.map(a => ({ event_type: 'node_registered', severity: 'info', node_id: a.id, cluster_id: null, resource_type: 'node', message: `Node ${a.hostname} added`, data: { hostname: a.hostname }, ...unacknowledged })),
    ])
  })

  it('nodes (and its alias providers): every node with its kind and labels, ordered by id, every 1 s', async () => {
    const agent = await d.createAgent(undefined, { role: 'db' })
    const nodesPath = await stream('/stream/nodes')
    const providers = await stream('/stream/providers')
    const list = await d.call<NodeView[]>('GET', '/api/v1/nodes')
    for (const s of [nodesPath, providers]) {
      await s.next(named('connected'))
      const m = await s.next(named('nodes'), 2000)
      expectFreshId(m)
      const data = dataOf<NodesMessage>(m)
      expect(Object.keys(data).sort()).toEqual(['nodes', 'offset', 'part', 'parts', 'snapshot', 'timestamp', 'total'])
      // A small fleet fits one line: one part.
      expect(data).toMatchObject({ part: 1, parts: 1, offset: 0 })
      expect(data.total).toBe(data.nodes.length)
      expect(data.nodes.map(n => n.id)).toEqual(list.body.map(n => n.id))
      for (const n of data.nodes) expect(Object.keys(n).sort()).toEqual(NODE_ENTRY_KEYS)
      expect(data.nodes.find(n => n.id === agent.id)).toEqual({
        id: agent.id, hostname: agent.hostname, status: 'offline', is_master: false, cpu_percent: null, memory_percent: null, disk_percent: null,
        uptime_seconds: null, active_backups: null, last_seen: null, kind: 'agent', labels: { role: 'db' },
      })
      expect(data.nodes.find(n => n.is_master)).toMatchObject({ hostname: d.srv.info.masterHostname, kind: 'master', status: 'online', last_seen: null })
    }
    await d.report(agent, { cpu_percent: 12.5, disk_percent: 51, uptime_seconds: 9 })
    for (const s of [nodesPath, providers]) {
      const m = await s.next(x => x.event === 'nodes' && dataOf<NodesMessage>(x).nodes.some(n => n.id === agent.id && n.status === 'online'), 2500)
      expect(dataOf<NodesMessage>(m).nodes.find(n => n.id === agent.id)).toMatchObject({ cpu_percent: 12.5, disk_percent: 51, memory_percent: null, uptime_seconds: 9, active_backups: 0 })
    }
    const at: number[] = []
    for (let i = 0; i < 3; i++) at.push((await nodesPath.next(named('nodes'), 2500)).receivedAt)
    expect((at[2]! - at[0]!) / 2).toBeGreaterThan(800)
    expect((at[2]! - at[0]!) / 2).toBeLessThan(1250)
    expect(nodesPath.messages.every(m => m.event === 'connected' || m.event === 'nodes' || m.event === 'heartbeat' || m.comment === 'heartbeat')).toBe(true)
  })

  it('reports (and its alias requests): each stored sample at once, exact fields, id = <seconds>-<sample id>, duplicates not re-sent', async () => {
    const agent = await d.createAgent()
    const reports = await stream('/stream/reports')
    const requests = await stream('/stream/requests')
    await reports.next(named('connected'))
    await requests.next(named('connected'))
    const base = Date.now()
    const batch = { samples: [
      stamp(base, 3000, { cpu_percent: 1, memory_percent: 2, disk_percent: 3, uptime_seconds: 4, active_backups: 5 }),
      stamp(base, 2000, { cpu_percent: 11, disk_percent: 13 }),
      stamp(base, 1000, { cpu_percent: 21.25, memory_percent: 22, disk_percent: 23, uptime_seconds: 24, active_backups: 0 }),
    ] }
    await d.report(agent, batch)
    await d.report(agent, batch) // the same samples again: stored once, streamed once
    await d.report(agent, { cpu_percent: 31, disk_percent: 33 })

    const expected = [
      { cpu_percent: 1, memory_percent: 2, disk_percent: 3, uptime_seconds: 4, active_backups: 5, sampled_at: batch.samples[0]!.timestamp },
      { cpu_percent: 11, memory_percent: null, disk_percent: 13, uptime_seconds: null, active_backups: null, sampled_at: batch.samples[1]!.timestamp },
      { cpu_percent: 21.25, memory_percent: 22, disk_percent: 23, uptime_seconds: 24, active_backups: 0, sampled_at: batch.samples[2]!.timestamp },
      { cpu_percent: 31, memory_percent: null, disk_percent: 33, uptime_seconds: null, active_backups: null },
    ]
    const seen: ReportMessage[][] = []
    for (const s of [reports, requests]) {
      const got: ReportMessage[] = []
      for (let i = 0; i < 4; i++) {
        const m = await s.next(named('reports'), 3000)
        expectFreshId(m)
        const r = dataOf<ReportMessage>(m)
        expect(positionOf(m)).toBe(r.id)
        expect(Object.keys(r).sort()).toEqual(REPORT_KEYS)
        expect(r).toMatchObject({ node_id: agent.id, hostname: agent.hostname, ...expected[i] })
        expect(r.received_at).toMatch(ISO_UTC)
        expect(r.sampled_at).toMatch(ISO_UTC)
        // `timestamp` is unix seconds, as in the seed's requests; sampled_at keeps the milliseconds.
        expect(r.timestamp).toBe(Math.floor(Date.parse(r.sampled_at) / 1000))
        got.push(r)
      }
      expect(got.map(r => r.id)).toEqual([...got.map(r => r.id)].sort((a, b) => a - b))
      expect(new Set(got.map(r => r.id)).size).toBe(4)
      // The last one was stamped on receipt (the request's arrival, just before it was stored).
      const lag = Date.parse(got[3]!.received_at) - Date.parse(got[3]!.sampled_at)
      expect(lag).toBeGreaterThanOrEqual(0)
      expect(lag).toBeLessThan(1000)
      seen.push(got)
    }
    expect(seen[1]).toEqual(seen[0])
    await sleep(500)
    for (const s of [reports, requests]) {
      expect(s.messages.filter(named('reports')).length, 'the re-sent batch is not streamed again').toBe(4)
      expect(s.messages.every(m => m.event === 'connected' || m.event === 'reports' || m.event === 'heartbeat' || m.comment === 'heartbeat')).toBe(true)
    }
  })

  it('heartbeat: only heartbeat events, {timestamp}, every NODEPULSE_HEARTBEAT_INTERVAL (1 s)', async () => {
    const s = await stream('/stream/heartbeat')
    await s.next(named('connected'))
    const beats: SseMessage[] = []
    for (let i = 0; i < 4; i++) beats.push(await s.next(named('heartbeat'), 2500))
    for (const b of beats) {
      expectFreshId(b)
      const data = dataOf<{ timestamp: number }>(b)
      expect(Object.keys(data)).toEqual(['timestamp'])
      expect(Math.abs(data.timestamp - Math.floor(b.receivedAt / 1000))).toBeLessThanOrEqual(1)
    }
    const avgGap = (beats[3]!.receivedAt - beats[0]!.receivedAt) / 3
    expect(avgGap).toBeGreaterThan(800)
    expect(avgGap).toBeLessThan(1250)
    expect([...new Set(s.messages.filter(m => m.event !== undefined).map(m => m.event))].sort()).toEqual(['connected', 'heartbeat'])
  })

  it('heartbeat events reach every channel\'s stream (the seed\'s clients listen for them on /stream/stats), the same bytes on each', async () => {
    const paths = ['/stream/stats', '/stream/logs', '/stream/events', '/stream/nodes', '/stream/reports', '/stream/heartbeat', '/stream/all']
    const streams: SseStream[] = []
    for (const p of paths) {
      const s = await stream(p)
      await s.next(named('connected'))
      streams.push(s)
    }
    // From here on every beat reaches all seven: the same encoded message, once on each stream.
    const from = streams.map(s => s.messages.length)
    await sleep(2600)
    const beats = streams.map((s, i) => s.messages.slice(from[i]).filter(named('heartbeat')))
    for (const [i, list] of beats.entries()) {
      expect(list.length, `${paths[i]}: a beat a second, each once`).toBeGreaterThanOrEqual(2)
      expect(list.length, `${paths[i]}: a beat a second, each once`).toBeLessThanOrEqual(3)
      for (const b of list) {
        expectFreshId(b)
        expect(Object.keys(dataOf<{ timestamp: number }>(b)), paths[i]).toEqual(['timestamp'])
      }
    }
    // Beats every stream got (one may fall between the marks above): the same bytes everywhere.
    const seen = beats.map(list => new Set(list.map(b => `${b.id} ${b.data}`)))
    const common = [...seen[0]!].filter(k => seen.every(set => set.has(k)))
    expect(common.length, beats.map((l, i) => `${paths[i]}: ${l.map(b => b.id).join(', ')}`).join(' | ')).toBeGreaterThanOrEqual(1)
  })

  it('all: carries every channel on one connection', async () => {
    const agent = await d.createAgent()
    const s = await stream('/stream/all')
    await s.next(named('connected'))
    await d.report(agent, { cpu_percent: 5, disk_percent: 6 })
    await d.createAgent()
    const seen = new Set<string>()
    await until('all six channels on /stream/all', () => {
      for (const m of s.messages) if (m.event) seen.add(m.event)
      return CHANNEL_NAMES.every(c => seen.has(c))
    }, 4000)
    expect([...seen].sort()).toEqual(['connected', ...CHANNEL_NAMES].sort())
    for (const m of s.messages.filter(x => x.event)) expect(m.id, m.event).toMatch(ID)
  })

  it('unknown channels answer 404 and missing or bad credentials 401, as JSON before streaming; cookie, bearer and ?token= are accepted', async () => {
    for (const bad of ['/stream/nope', '/stream/STATS', '/stream/provider']) {
      const res = await d.call('GET', bad)
      expect(res.status, bad).toBe(404)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    }
    const nope = await d.call('GET', '/stream/nope')
    expect(nope.body.message).toContain('stats, logs, events, nodes, providers, reports, requests, heartbeat, all')
    for (const auth of [null, { bearer: 'np_wrong' }] as const) {
      const res = await d.call('GET', '/stream/stats', { auth })
      expect(res.status).toBe(401)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    }
    expect((await d.call('GET', '/stream/stats?token=np_wrong', { auth: null })).status).toBe(401)

    const viewer = await d.call<{ token: string }>('POST', '/api/v1/tokens', { json: { name: `viewer-${Date.now()}`, role: 'viewer' } })
    expect(viewer.status).toBe(201)
    const ticket = await d.call<{ token: string }>('POST', '/api/v1/auth/stream-token', { auth: { bearer: viewer.body.token } })
    expect(ticket.status).toBe(201)
    for (const [path, auth] of [
      ['/stream/logs', { cookie: d.cookie }],
      ['/stream/logs', { bearer: viewer.body.token }],
      [`/stream/logs?token=${viewer.body.token}`, null],
      [`/stream/logs?token=${ticket.body.token}`, null],
    ] as const) {
      const s = await stream(path, auth)
      expect(s.status, path).toBe(200)
      expect((await s.next(() => true)).event).toBe('connected')
      s.close()
    }
  })
})

describe('seed 001\'s Go client (ported line by line) reading the streams', () => {
  it('receives connected, stats, nodes, reports, logs, events and heartbeat as named events with ids and JSON data', async () => {
    const agent = await d.createAgent()
    const events: SSEEvent[] = []
    const ctx = new AbortController()
    const done = streamSSE(ctx.signal, `${d.baseURL}/stream/all?token=${d.bearer}`, e => events.push(e))
    try {
      await until('the Go client\'s connected event', () => events.some(e => e.Type === 'connected'), 3000)
      await d.report(agent, { cpu_percent: 7, disk_percent: 8 })
      await d.createAgent()
      await until('every channel through the Go client', () => CHANNEL_NAMES.every(c => events.some(e => e.Type === c)), 4000)
    }
    finally {
      ctx.abort()
    }
    await expect(done).rejects.toThrow('context canceled')
    expect(events[0]!.Type).toBe('connected')
    for (const e of events) {
      expect(['connected', ...CHANNEL_NAMES]).toContain(e.Type)
      expect(e.ID, e.Type).toMatch(ID)
      expect(() => JSON.parse(e.Data), `${e.Type} data is one JSON line`).not.toThrow()
    }
    const report = events.find(e => e.Type === 'reports' && (JSON.parse(e.Data) as ReportMessage).node_id === agent.id)!
    expect(JSON.parse(report.Data)).toMatchObject({ node_id: agent.id, cpu_percent: 7, disk_percent: 8 })
    expect(report.ID).toBe(`${ID.exec(report.ID)![1]}-${(JSON.parse(report.Data) as ReportMessage).id}`)
    const stats = JSON.parse(events.find(e => e.Type === 'stats')!.Data) as StatsMessage
    expect(Object.keys(stats).sort()).toEqual(STATS_KEYS)
    // What the seed's clients print from it, as they are written (its browser example throws on a missing field).
    expect(`Stats Update: ${stats.total_requests} requests, $${stats.total_cost.toFixed(4)} cost`).toMatch(/^Stats Update: \d+ requests, \$0\.0000 cost$/)
    expect(`Providers: ${stats.providers.length}`).toBe(`Providers: ${stats.total_nodes}`)
  })

  it('gets the errors the Go code returns for a refused stream', async () => {
    const ctx = new AbortController()
    await expect(streamSSE(ctx.signal, `${d.baseURL}/stream/providerz?token=${d.bearer}`, () => {})).rejects.toThrow('unexpected status: 404')
    await expect(streamSSE(ctx.signal, `${d.baseURL}/stream/stats`, () => {})).rejects.toThrow('unexpected status: 401')
  })
})

describe('REST aggregates: /api/realtime/*', () => {
  it('GET /api/realtime/metrics is the stats payload with active_nodes; node and provider metrics are one node\'s aggregate', async () => {
    const agent = await d.createAgent()
    const base = Date.now()
    await d.report(agent, { samples: [stamp(base, 2000, { cpu_percent: 40, memory_percent: 10, disk_percent: 80 }), stamp(base, 1000, { cpu_percent: 60, disk_percent: 90, active_backups: 2 })] })

    const res = await d.call<{ success: boolean, data: StatsMessage & { active_nodes: number } }>('GET', '/api/realtime/metrics')
    expect(res.status).toBe(200)
    expect(res.body.success).toBe(true)
    expect(Object.keys(res.body.data).sort()).toEqual([...STATS_KEYS.filter(k => k !== 'timestamp' && k !== 'providers_total'), 'active_nodes'].sort())
    expect(res.body.data.active_nodes).toBe(res.body.data.online)
    const nodes = await d.call<NodeView[]>('GET', '/api/v1/nodes')
    expect(res.body.data.total_nodes).toBe(nodes.body.length)
    const expected: NodeAggregate = {
      node_id: agent.id, hostname: agent.hostname, status: 'online', is_master: false, cpu_percent: 60, memory_percent: null, disk_percent: 90,
      active_backups: 2, last_seen: res.body.data.nodes.find(n => n.node_id === agent.id)!.last_seen, reports: 2,
      avg_cpu_percent: 50, avg_memory_percent: 10, avg_disk_percent: 85,
    }
    expect(res.body.data.nodes.find(n => n.node_id === agent.id)).toEqual(expected)

    for (const path of [`/api/realtime/nodes/${agent.id}/metrics`, `/api/realtime/providers/${agent.id}/metrics`]) {
      const one = await d.call<{ success: boolean, data: NodeAggregate }>('GET', path)
      expect(one.status, path).toBe(200)
      expect(one.body).toEqual({ success: true, data: expected })
    }
    const viewer = await d.call<{ token: string }>('POST', '/api/v1/tokens', { json: { name: `rt-viewer-${Date.now()}`, role: 'viewer' } })
    expect((await d.call('GET', '/api/realtime/metrics', { auth: { bearer: viewer.body.token } })).status).toBe(200)

    for (const path of ['/api/realtime/nodes/999999/metrics', '/api/realtime/providers/999999/metrics']) {
      const res404 = await d.call('GET', path)
      expect(res404.status, path).toBe(404)
      expect(res404.body.message).toContain('999999')
    }
    expect((await d.call('GET', '/api/realtime/nodes/abc/metrics')).status).toBe(400)
    for (const path of ['/api/realtime/metrics', `/api/realtime/nodes/${agent.id}/metrics`, '/api/realtime/hub/stats']) {
      expect((await d.call('GET', path, { auth: null })).status, path).toBe(401)
    }
  })
})

describe('hub stats and Prometheus counters', () => {
  it('/api/realtime/hub/stats ({success, data} as the seed) counts clients per channel up, and back to 0 with every disconnect counted', async () => {
    await until('no clients left from earlier tests', async () => (await d.hubStats()).total_clients === 0)
    const before = await d.hubStats()
    expect(before.subscriptions).toEqual(NO_SUBSCRIPTIONS)
    expect(before.streams).toEqual({})
    const paths = ['/stream/stats', '/stream/stats', '/stream/logs', '/stream/all', '/stream/providers', '/stream/requests', '/stream/heartbeat']
    const streams: SseStream[] = []
    for (const p of paths) {
      const s = await stream(p)
      await s.next(named('connected'))
      streams.push(s)
    }
    const during = await d.hubStats()
    expect(during.total_clients).toBe(7)
    // Per channel, as the seed counts them: the /stream/all client is subscribed to each of the six.
    expect(during.subscriptions).toEqual({ stats: 3, logs: 2, events: 1, nodes: 2, reports: 2, heartbeat: 2 })
    expect(during.streams).toEqual({ stats: 2, logs: 1, all: 1, nodes: 1, reports: 1, heartbeat: 1 })
    expect(during.events_sent).toBeGreaterThan(before.events_sent)

    for (let i = 0; i < streams.length; i++) {
      streams[i]!.close()
      await until(`${6 - i} clients`, async () => (await d.hubStats()).total_clients === 6 - i, 3000)
    }
    const after = await d.hubStats()
    expect(after.subscriptions).toEqual(NO_SUBSCRIPTIONS)
    expect(after.streams).toEqual({})
    expect(after.disconnects).toEqual({ ...before.disconnects, client: before.disconnects.client + 7 })
  })

  it('/metrics counts sse_events_sent_total{channel} exactly as the events of that channel a client received', async () => {
    const scrape = async () => {
      const res = await fetch(`${d.baseURL}/metrics`, { headers: { authorization: `Bearer ${d.bearer}` } })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
      return parseProm(await res.text())
    }
    const sent = (series: Map<string, number>, channel: string) => series.get(`sse_events_sent_total{channel="${channel}"}`) ?? 0
    const agent = await d.createAgent()
    // Its node_registered row goes out in an events batch before the events channel is measured.
    const flushed = await stream('/stream/events')
    await flushed.next(m => m.event === 'events' && dataOf<EventsMessage>(m).logs.some(l => l.node_id === agent.id), 5000)
    flushed.close()

    const counted: Record<string, { received: number, delta: number }> = {}
    for (const channel of CHANNEL_NAMES) {
      await until('no clients', async () => (await d.hubStats()).total_clients === 0)
      const before = await scrape()
      const s = await stream(`/stream/${channel}`)
      await s.next(named('connected'))
      if (channel === 'reports' || channel === 'logs') await d.report(agent, { cpu_percent: 1, disk_percent: 2 })
      if (channel === 'events') await d.createAgent()
      // Right after an event arrives the next one is at least a tick away: the counter is quiet.
      // (The request log's channel first sends its newest entries: wait for this agent's first report, logs comes before reports.)
      if (channel === 'logs') await s.next(m => m.event === 'logs' && dataOf<LogsMessage>(m).logs.some(l => l.node_id === agent.id), 3000)
      else await s.next(named(channel), 3000)
      if (channel === 'stats' || channel === 'nodes' || channel === 'heartbeat') await s.next(named(channel), 3000)
      const after = await scrape()
      counted[channel] = { received: s.messages.filter(named(channel)).length, delta: sent(after, channel) - sent(before, channel) }
      s.close()
    }
    // A connected greeting is not an event of the channel it opens.
    expect.soft(counted).toEqual(Object.fromEntries(CHANNEL_NAMES.map(c => [c, { received: counted[c]!.received, delta: counted[c]!.received }])))

    const all = await stream('/stream/all')
    await all.next(named('connected'))
    await all.next(named('stats'), 2000)
    const series = await scrape()
    for (const c of CHANNEL_NAMES) expect(series.has(`sse_events_sent_total{channel="${c}"}`), c).toBe(true)
    expect.soft(series.has('sse_events_sent_total{channel="all"}'), '"all" is a path, not a channel').toBe(false)
    expect(series.get('sse_clients_total')).toBe(1)
    for (const r of ['client', 'slow', 'ended', 'shutdown']) expect(series.has(`sse_disconnections_total{reason="${r}"}`), r).toBe(true)
  })
})
