/**
 * The dashboard's delta stream (/api/v1/metrics/nodes/stats/delta): a snapshot, then per tick only
 * the nodes whose summary changed and the ids removed; resuming from a position gives one delta of
 * what was missed, and a position it cannot resume from gives a fresh snapshot. The folded
 * messages must always equal a snapshot taken at the same position.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { NodeStatsDelta, NodeStatsSnapshot } from '../../shared/contracts/seed000'
import { applyNodeMessage, type NodeTable } from '../../utils/nodeDeltas'
import { api, asAdmin, createAgent, expectError, report, sample } from './helpers'
import { until } from './support/dedicated'
import { openStream, type SseMessage, type SseStream } from './sse'

const PATH = '/api/v1/metrics/nodes/stats/delta?interval=1'
const named = (name: string) => (m: SseMessage) => m.event === name
const dataOf = <T>(m: SseMessage) => JSON.parse(m.data!) as T
const isData = (m: SseMessage) => m.event === 'snapshot' || m.event === 'delta'

let open: SseStream[] = []
afterEach(() => {
  open.forEach(s => s.close())
  open = []
})
async function stream(path = PATH, headers: Record<string, string> = {}) {
  const s = await openStream(path, await asAdmin(), headers)
  open.push(s)
  expect(s.status).toBe(200)
  return s
}

/** Subscribers of the interval-1 delta stream on this server. */
async function subscribers(): Promise<number> {
  const res = await api<{ data: { streams: Record<string, number> } }>('GET', '/api/realtime/hub/stats', { auth: await asAdmin() })
  expect(res.status).toBe(200)
  return res.body.data.streams['node-stats:delta:1'] ?? 0
}

/** `table` with the data messages folded onto it. */
const foldOnto = (table: NodeTable, messages: SseMessage[]): NodeTable =>
  messages.filter(isData).reduce((t, m) => applyNodeMessage(t, m.event!, dataOf<NodeStatsSnapshot | NodeStatsDelta>(m)), table)

/** The table the stream's data messages fold into, and the position of the last one. */
function fold(s: SseStream): { table: NodeTable, id: string | undefined } {
  return { table: foldOnto({ timestamp: null, nodes: [] }, s.messages), id: s.messages.filter(isData).at(-1)?.id }
}

/** The stream's messages up to the one at position `id` (waiting up to 5 s for it); fails without it. */
async function upTo(s: SseStream, id: string): Promise<SseMessage[]> {
  await until(`position ${id}`, () => s.messages.some(m => m.id === id), 5000)
  const at = s.messages.findIndex(m => m.id === id)
  expect(at, `the stream saw position ${id}`).toBeGreaterThan(-1)
  return s.messages.slice(0, at + 1)
}

describe('the dashboard\'s delta stream', () => {
  it('sends a snapshot, then only the nodes that changed, and the ids of removed nodes', async () => {
    const quiet = await createAgent()
    const busy = await createAgent()
    const s = await stream()
    await s.next(named('connected'))
    const first = await s.next(isData, 3000)
    expect(first.event).toBe('snapshot')
    expect(first.id).toMatch(/^[a-z0-9]+\.\d+$/)
    const snapshot = dataOf<NodeStatsSnapshot>(first)
    expect(snapshot.nodes.map(n => n.id)).toEqual(expect.arrayContaining([quiet.id, busy.id]))
    expect(snapshot.nodes.map(n => n.id)).toEqual([...snapshot.nodes.map(n => n.id)].sort((a, b) => a - b))

    expect((await report(busy.id, busy.token, { json: sample(0, { cpu_percent: 61 }) })).status).toBe(200)
    const withBusy = await s.next(m => m.event === 'delta' && dataOf<NodeStatsDelta>(m).changed.some(n => n.id === busy.id && n.cpu_percent === 61), 5000)
    const delta = dataOf<NodeStatsDelta>(withBusy)
    expect(Object.keys(delta).sort()).toEqual(['changed', 'removed', 'timestamp'])
    expect(delta.changed.find(n => n.id === busy.id)).toMatchObject({ hostname: busy.hostname, status: 'online', state: 'online', cpu_percent: 61 })
    // The quiet node never reported: nothing about it changes, so no delta after the snapshot carries it.
    const deltas = s.messages.filter(named('delta')).map(m => dataOf<NodeStatsDelta>(m))
    expect(deltas.flatMap(d => d.changed.map(n => n.id))).not.toContain(quiet.id)
    // Ids advance by one a tick within one run.
    const seqs = s.messages.filter(isData).map(m => Number(m.id!.split('.')[1]))
    expect(seqs.slice(1).every((q, i) => q > seqs[i]!)).toBe(true)

    expect((await api('DELETE', `/api/v1/nodes/${quiet.id}`, { auth: await asAdmin() })).status).toBe(204)
    const removal = await s.next(m => m.event === 'delta' && dataOf<NodeStatsDelta>(m).removed.includes(quiet.id), 5000)
    expect(dataOf<NodeStatsDelta>(removal).changed.map(n => n.id)).not.toContain(quiet.id)
  })

  it('folds to exactly the snapshot a new client gets at the same position', async () => {
    const agents = [await createAgent(), await createAgent(), await createAgent()]
    const s = await stream()
    await s.next(isData, 3000)
    for (const [i, a] of agents.entries()) expect((await report(a.id, a.token, { json: sample(0, { cpu_percent: 10 + i }) })).status).toBe(200)
    await s.next(m => m.event === 'delta' && dataOf<NodeStatsDelta>(m).changed.some(n => n.id === agents[2]!.id), 5000)
    const late = await stream()
    const snap = await late.next(isData, 3000)
    expect(snap.event).toBe('snapshot')
    // The first stream reaches the late one's position (the late joiner's tick, or an earlier one it reused).
    expect(foldOnto({ timestamp: null, nodes: [] }, await upTo(s, snap.id!)).nodes).toEqual(dataOf<NodeStatsSnapshot>(snap).nodes)
  })

  it('resumes from Last-Event-ID (header or ?lastEventId=) with deltas only, at once or after a pause', async () => {
    const agent = await createAgent()
    expect((await report(agent.id, agent.token, { json: sample(0, { cpu_percent: 5 }) })).status).toBe(200)
    for (const how of ['header', 'query'] as const) {
      const s = await stream()
      await s.next(m => isData(m) && fold(s).table.nodes.some(n => n.id === agent.id && n.state === 'online'), 5000)
      const { table, id } = fold(s)
      s.close()
      const cpu = how === 'header' ? 77 : 78
      expect((await report(agent.id, agent.token, { json: sample(0, { cpu_percent: cpu }) })).status).toBe(200)
      // The second time the dashboard comes back after a tick's time away with nobody listening: the
      // ticker has paused (no work) and its first tick on resuming carries what was missed.
      if (how === 'query') {
        open.forEach(x => x.close())
        await until('nobody on the delta stream', async () => (await subscribers()) === 0, 5000)
        await new Promise(r => setTimeout(r, 1200))
      }
      const resumed = how === 'header' ? await stream(PATH, { 'last-event-id': id! }) : await stream(`${PATH}&lastEventId=${encodeURIComponent(id!)}`)
      const first = await resumed.next(isData, 3000)
      expect(first.event, 'a delta, not a snapshot').toBe('delta')
      if (how === 'query') expect(dataOf<NodeStatsDelta>(first).changed.find(n => n.id === agent.id)?.cpu_percent, 'what it missed is in its first delta').toBe(cpu)
      await resumed.next(() => foldOnto(table, resumed.messages).nodes.find(n => n.id === agent.id)?.cpu_percent === cpu, 5000)
      expect(resumed.messages.filter(isData).every(m => m.event === 'delta')).toBe(true)
      // Its table is then a new client's at the same position.
      const fresh = await stream()
      const snap = await fresh.next(isData, 3000)
      expect(foldOnto(table, await upTo(resumed, snap.id!)).nodes).toEqual(dataOf<NodeStatsSnapshot>(snap).nodes)
    }
  })

  it('sends a snapshot for a position it cannot resume from (another run, the future, garbage)', async () => {
    const s = await stream()
    const first = await s.next(isData, 3000)
    const [epoch, seq] = first.id!.split('.')
    for (const id of ['0123456789ab.5', `${epoch}.${Number(seq) + 1000}`, 'not-a-position', '']) {
      const again = await stream(PATH, { 'last-event-id': id })
      expect((await again.next(isData, 3000)).event, `Last-Event-ID ${JSON.stringify(id)}`).toBe('snapshot')
    }
  })

  it('refuses a bad interval or an overlong position with a 400 naming the parameter', async () => {
    for (const [query, param] of [['interval=0', 'interval'], ['interval=x', 'interval'], [`lastEventId=${'a'.repeat(65)}`, 'lastEventId']] as const) {
      const res = await api('GET', `/api/v1/metrics/nodes/stats/delta?${query}`, { auth: await asAdmin() })
      expectError(res, 400)
      expect(res.text).toContain(param)
    }
  })
})
