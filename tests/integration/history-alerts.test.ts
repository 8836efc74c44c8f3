/**
 * Threshold alert rules against a real database of the project's driver: samples written as rows,
 * rolled up by the real rollup, evaluated at chosen times; the events land in the real event log.
 */
import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DatabaseHandle } from '../../server/db'
import { events, nodeSamples } from '../../server/db/schema'
import { createEventLog } from '../../server/services/events'
import { createHistory } from '../../server/services/history'
import { createAlerts, type Alerts } from '../../server/services/history/alerts'
import { parseHistoryTiers } from '../../server/services/history/tiers'
import { createJournal } from '../../server/services/journal'
import { createRegistry, type Registry } from '../../server/services/registry'
import { openHistoryDatabase } from './support/historyDb'

const MIN = 60_000
let handle: DatabaseHandle
let close = async () => {}
let registry: Registry
let alerts: Alerts
let history: ReturnType<typeof createHistory>
// A whole minute 10 minutes ago: minute k of the test is [base + k min, base + (k + 1) min).
const base = Math.floor(Date.now() / MIN) * MIN - 10 * MIN
const at = (minute: number, second = 10) => new Date(base + minute * MIN + second * 1000)

beforeAll(async () => {
  ({ handle, close } = await openHistoryDatabase())
  registry = createRegistry(handle.db)
  await registry.load()
  const log = createEventLog(handle.db, createJournal(handle.db))
  alerts = createAlerts(handle.db, registry, log, { widthSeconds: 60 })
  history = createHistory(handle.db, registry, { tiers: parseHistoryTiers('raw:48h,1m:14d,15m:90d,1h:2y'), eventRetentionDays: 7 })
}, 90_000)

afterAll(async () => {
  await close()
})

let hosts = 0
const node = async (labels: Record<string, string> = {}) => registry.create({ hostname: `alert-${++hosts}`, kind: 'agent', labels })
/** One sample every 15 s through minute `minute`, at this cpu. */
async function minuteOf(nodeId: number, minute: number, cpu: number) {
  await handle.db.insert(nodeSamples).values([0, 15, 30, 45].map(s => ({ nodeId, ts: at(minute, s), cpuPercent: cpu, diskPercent: 1 })))
}
const eventsOf = (nodeId: number) => handle.db.select().from(events).where(eq(events.nodeId, nodeId)).orderBy(events.id)

describe('threshold alert rules', () => {
  it('raises threshold_exceeded once every minute of the duration broke the threshold, and threshold_recovered when the newest minute does not', async () => {
    const hot = await node({ cluster: 'prod' })
    const short = await node({ cluster: 'prod' })
    const rule = await alerts.create({ name: 'cpu hot', metric: 'cpu_percent', comparison: '>', value: 90, per_core: false, duration_seconds: 180, nodes: { labels: { cluster: 'prod' } }, severity: 'error', enabled: true })
    await minuteOf(hot.id, 0, 50)
    for (const m of [1, 2, 3]) await minuteOf(hot.id, m, 95)
    // Only two hot minutes: not long enough.
    await minuteOf(short.id, 1, 50)
    for (const m of [2, 3]) await minuteOf(short.id, m, 99)
    await history.rollup()

    // At minute 3 + 10 s the whole minutes are 0–2: not yet three hot ones.
    expect(await alerts.evaluate(at(3))).toEqual({ exceeded: 0, recovered: 0 })
    expect(await alerts.evaluate(at(4))).toEqual({ exceeded: 1, recovered: 0 })
    const [exceeded] = await eventsOf(hot.id)
    expect(exceeded).toMatchObject({
      type: 'threshold_exceeded', severity: 'error', clusterId: 'prod',
      data: { rule_id: rule.id, metric: 'cpu_percent', comparison: '>', threshold: 90, duration_seconds: 180, value: 95, hostname: hot.hostname },
    })
    expect(exceeded!.message).toBe(`${hot.hostname}: cpu_percent > 90 for 3 min (now 95), rule "cpu hot"`)
    expect((await alerts.get(rule.id)).firing).toEqual([{ node_id: hot.id, since: at(4).toISOString(), value: 95, threshold: 90 }])
    // Evaluating again changes nothing.
    expect(await alerts.evaluate(at(4, 40))).toEqual({ exceeded: 0, recovered: 0 })
    expect(await eventsOf(short.id)).toEqual([])

    // Minute 4 is still hot, minute 5 is not: recovered at 6 + 10 s, not before.
    await minuteOf(hot.id, 4, 97)
    await minuteOf(hot.id, 5, 40)
    await history.rollup()
    expect(await alerts.evaluate(at(5))).toEqual({ exceeded: 0, recovered: 0 })
    expect(await alerts.evaluate(at(6))).toEqual({ exceeded: 0, recovered: 1 })
    const recovered = (await eventsOf(hot.id)).at(-1)!
    expect(recovered).toMatchObject({ type: 'threshold_recovered', severity: 'success', data: { rule_id: rule.id, value: 40 } })
    expect((await alerts.get(rule.id)).firing).toEqual([])
  })

  it('marks the events of a node in maintenance so they do not alert, and watches only the nodes it selects', async () => {
    const quiet = await node()
    const other = await node()
    await registry.update(quiet.id, { maintenance: true })
    await alerts.create({ name: 'disk full', metric: 'disk_percent', comparison: '>=', value: 1, per_core: false, duration_seconds: 60, nodes: { ids: [quiet.id] }, severity: 'warning', enabled: true })
    await minuteOf(quiet.id, 7, 10)
    await minuteOf(other.id, 7, 10)
    await history.rollup()
    await alerts.evaluate(at(8))
    const [e] = await eventsOf(quiet.id)
    expect(e).toMatchObject({ type: 'threshold_exceeded', severity: 'warning', data: { maintenance: true, metric: 'disk_percent' } })
    expect((await eventsOf(other.id)).filter(x => x.type === 'threshold_exceeded')).toEqual([])
  })

  it('a disabled rule is not evaluated; changing its condition forgets its firing nodes', async () => {
    const n = await node()
    const rule = await alerts.create({ name: 'low memory', metric: 'cpu_percent', comparison: '<', value: 5, per_core: false, duration_seconds: 60, nodes: { ids: [n.id] }, severity: 'info', enabled: false })
    await minuteOf(n.id, 8, 1)
    await history.rollup()
    expect(await alerts.evaluate(at(9))).toEqual({ exceeded: 0, recovered: 0 })
    await alerts.update(rule.id, { enabled: true })
    expect(await alerts.evaluate(at(9))).toEqual({ exceeded: 1, recovered: 0 })
    expect((await alerts.update(rule.id, { value: 0.5 })).firing).toEqual([])
  })

  it('holds each node of a per-core rule to its value times the node\'s cores, and skips nodes of unknown cores', async () => {
    const four = await node({ load: 'per-core' })
    const two = await node({ load: 'per-core' })
    const unknown = await node({ load: 'per-core' })
    const cores = (n: number) => ({ cpu_cores: Array.from({ length: n }, () => 50) })
    const latest = (detail: Record<string, unknown>) => ({ ts: at(11), cpuPercent: 50, memoryPercent: null, diskPercent: 1, uptimeSeconds: null, activeBackups: null, detail })
    registry.applySamples(four.id, at(11), latest(cores(4)))
    registry.applySamples(two.id, at(11), latest(cores(2)))
    registry.applySamples(unknown.id, at(11), latest({}))
    const rule = await alerts.create({ name: 'load over cores', metric: 'load1', comparison: '>', value: 1, per_core: true, duration_seconds: 120, nodes: { labels: { load: 'per-core' } }, severity: 'warning', enabled: true })
    const loadMinute = (nodeId: number, minute: number, load1: number) => handle.db.insert(nodeSamples).values([0, 30].map(s => ({
      nodeId, ts: at(minute, s), cpuPercent: 50, diskPercent: 1, detail: { load: { '1m': load1, '5m': load1, '15m': load1 } },
    })))
    for (const m of [10, 11]) {
      await loadMinute(four.id, m, 3)
      await loadMinute(two.id, m, 3)
      await loadMinute(unknown.id, m, 50)
    }
    await history.rollup()
    expect(await alerts.evaluate(at(12))).toEqual({ exceeded: 1, recovered: 0 })
    const [e] = (await eventsOf(two.id)).filter(x => x.type === 'threshold_exceeded')
    expect(e!.message).toBe(`${two.hostname}: load1 > 1 × cores (2) for 2 min (now 3), rule "load over cores"`)
    expect(e!.data).toMatchObject({ threshold: 2, per_core: 1, value: 3 })
    expect((await alerts.get(rule.id)).firing).toEqual([{ node_id: two.id, since: at(12).toISOString(), value: 3, threshold: 2 }])
    expect((await alerts.get(rule.id)).per_core).toBe(true)
    expect(await eventsOf(four.id)).toEqual([])
    expect(await eventsOf(unknown.id)).toEqual([])
    // Back under its two cores: recovered.
    await loadMinute(two.id, 12, 1.5)
    await history.rollup()
    expect(await alerts.evaluate(at(13))).toEqual({ exceeded: 0, recovered: 1 })
  })

  it('keeps names unique and answers 404 for unknown rules', async () => {
    const body = { name: 'unique', metric: 'load1', comparison: '>', value: 4, per_core: false, duration_seconds: 600, nodes: 'all', severity: 'warning', enabled: true } as const
    const rule = await alerts.create(body)
    await expect(alerts.create(body)).rejects.toThrow('An alert rule named "unique" already exists')
    await alerts.create({ name: 'second', metric: 'load1', comparison: '>', value: 4, per_core: false, duration_seconds: 600, nodes: 'all', severity: 'warning', enabled: true })
    await expect(alerts.update(rule.id, { name: 'second' })).rejects.toThrow('already exists')
    expect((await alerts.update(rule.id, { name: 'renamed' })).name).toBe('renamed')
    await alerts.remove(rule.id)
    await expect(alerts.get(rule.id)).rejects.toThrow(`Alert rule ${rule.id} not found`)
    await expect(alerts.remove(rule.id)).rejects.toThrow('not found')
  })
})
