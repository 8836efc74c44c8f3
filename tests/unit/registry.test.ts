import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { nodes, nodeSamples } from '../../server/db/schema'
import { createRegistry, toNodeStats, toNodeView, type NodeState } from '../../server/services/registry'
import { memoryRegistry } from './db'

const t = memoryRegistry()

describe('createRegistry', () => {
  it('registers the master once: a second ensureMaster finds the same row', async () => {
    const first = await t.registry.ensureMaster('hub-1')
    const again = await t.registry.ensureMaster('hub-1')
    expect(again.id).toBe(first.id)
    expect(first).toMatchObject({ hostname: 'hub-1', kind: 'master', labels: {}, lastSeen: null, agentTokenHash: null, latest: null, live: true })
    const rows = await t.handle.db.select().from(nodes).where(eq(nodes.hostname, 'hub-1'))
    expect(rows).toHaveLength(1)
  })

  it('creates, finds by token hash, updates and removes agents, telling subscribers', async () => {
    const changes: string[] = []
    const unsubscribe = t.registry.subscribe(c => changes.push(`${c.type}:${c.node.hostname}`))
    const node = await t.registry.create({ hostname: 'reg-a', kind: 'agent', labels: { env: 'dev' }, agentTokenHash: 'h1' })
    expect(t.registry.get(node.id)).toBe(node)
    expect(t.registry.findByTokenHash('h1')?.id).toBe(node.id)

    const updated = await t.registry.update(node.id, { hostname: 'reg-a2', agentTokenHash: 'h2' })
    expect(updated).toMatchObject({ id: node.id, hostname: 'reg-a2', labels: { env: 'dev' } })
    expect(t.registry.findByTokenHash('h1')).toBeUndefined()
    expect(t.registry.findByTokenHash('h2')?.id).toBe(node.id)

    expect(await t.registry.remove(node.id)).toBe(true)
    expect(t.registry.get(node.id)).toBeUndefined()
    expect(t.registry.findByTokenHash('h2')).toBeUndefined()
    expect(await t.registry.remove(node.id)).toBe(false)
    expect(await t.registry.update(node.id, { hostname: 'x' })).toBeUndefined()
    unsubscribe()
    await t.registry.create({ hostname: 'after-unsubscribe', kind: 'agent' })
    expect(changes).toEqual(['created:reg-a', 'updated:reg-a2', 'deleted:reg-a2'])
  })

  it('lists nodes ordered by id', async () => {
    await t.registry.create({ hostname: 'reg-order-1', kind: 'agent' })
    await t.registry.create({ hostname: 'reg-order-2', kind: 'agent' })
    const ids = t.registry.list().map(n => n.id)
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
  })

  it('load() rebuilds memory from the database with each node\'s newest sample', async () => {
    const node = await t.registry.create({ hostname: 'reg-load', kind: 'agent', agentTokenHash: 'h-load' })
    const ts = (s: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, s))
    await t.handle.db.insert(nodeSamples).values([
      { nodeId: node.id, ts: ts(1), cpuPercent: 1, diskPercent: 1 },
      { nodeId: node.id, ts: ts(3), cpuPercent: 3, diskPercent: 3, uptimeSeconds: 42 },
      { nodeId: node.id, ts: ts(2), cpuPercent: 2, diskPercent: 2 },
    ])
    const fresh = createRegistry(t.handle.db)
    await fresh.load()
    expect(fresh.list().map(n => n.id)).toEqual(t.registry.list().map(n => n.id))
    expect(fresh.findByTokenHash('h-load')?.id).toBe(node.id)
    expect(fresh.get(node.id)!.latest).toEqual({ ts: ts(3), cpuPercent: 3, memoryPercent: null, diskPercent: 3, uptimeSeconds: 42, activeBackups: null, detail: null })
  })

  it('applySamples moves last_seen forward only and keeps the newest sample', async () => {
    const node = await t.registry.create({ hostname: 'reg-apply', kind: 'agent' })
    const sample = (s: number) => ({ ts: new Date(Date.UTC(2025, 0, 1, 0, 0, s)), cpuPercent: s, memoryPercent: null, diskPercent: 1, uptimeSeconds: null, activeBackups: null, detail: null })
    t.registry.applySamples(node.id, new Date(2000), sample(10))
    t.registry.applySamples(node.id, new Date(1000), sample(5))
    expect(t.registry.get(node.id)!.lastSeen).toEqual(new Date(2000))
    expect(t.registry.get(node.id)!.latest!.cpuPercent).toBe(10)
    t.registry.applySamples(987654, new Date(), sample(1))
    expect(t.registry.get(987654)).toBeUndefined()
  })
})

describe('toNodeStats / toNodeView', () => {
  const now = Date.UTC(2025, 5, 1, 12, 0, 0)
  const T = { staleAfterSeconds: 300, unreachableAfterSeconds: 60 }
  const state = (over: Partial<NodeState>): NodeState => ({
    id: 7, hostname: 'h', kind: 'agent', labels: { env: 'prod' }, createdAt: new Date(Date.UTC(2025, 0, 1)), lastSeen: null, agentTokenHash: 'secret-hash', latest: null, maintenance: false, watchedStatus: null, watchedReachable: null, live: false, ...over,
  })

  it('gives an agent that never reported nulls and offline', () => {
    expect(toNodeStats(state({}), now, T)).toEqual({
      id: 7, hostname: 'h', status: 'offline', state: 'offline', is_master: false, cpu_percent: null, memory_percent: null, disk_percent: null,
      uptime_seconds: null, active_backups: null, last_seen: null,
    })
  })

  it('gives this instance\'s master last_seen null and 0 backups, always online', () => {
    expect(toNodeStats(state({ kind: 'master', live: true, lastSeen: new Date(now - 86_400_000) }), now, T)).toMatchObject({ status: 'online', is_master: true, active_backups: 0, last_seen: null })
  })

  it('judges another instance\'s master by its samples, so it turns stale when that instance stops', () => {
    const seen = new Date(now - 301_000)
    expect(toNodeStats(state({ kind: 'master', lastSeen: seen }), now, T)).toMatchObject({ status: 'stale', is_master: true, last_seen: seen.toISOString() })
    expect(toNodeStats(state({ kind: 'master', lastSeen: new Date(now - 5_000) }), now, T)).toMatchObject({ status: 'online', is_master: true })
  })

  it('calls an agent silent past the unreachable threshold unreachable while its status stays online', () => {
    const seen = new Date(now - 120_000)
    expect(toNodeStats(state({ lastSeen: seen }), now, T)).toMatchObject({ status: 'online', state: 'unreachable', last_seen: seen.toISOString() })
    expect(toNodeStats(state({ lastSeen: new Date(now - 30_000) }), now, T)).toMatchObject({ status: 'online', state: 'online' })
  })

  it('gives an agent that reported without active_backups 0 backups, but keeps memory and uptime null', () => {
    const latest = { ts: new Date(now - 10_000), cpuPercent: 4, memoryPercent: null, diskPercent: 5, uptimeSeconds: null, activeBackups: null, detail: null }
    expect(toNodeStats(state({ lastSeen: new Date(now - 10_000), latest }), now, T)).toMatchObject({
      status: 'online', memory_percent: null, uptime_seconds: null, active_backups: 0,
    })
  })

  it('shows a reporting agent\'s latest figures and status', () => {
    const latest = { ts: new Date(now - 400_000), cpuPercent: 1.5, memoryPercent: 2.5, diskPercent: 3.5, uptimeSeconds: 9, activeBackups: 1, detail: null }
    const stale = state({ lastSeen: new Date(now - 301_000), latest })
    expect(toNodeStats(stale, now, T)).toEqual({
      id: 7, hostname: 'h', status: 'stale', state: 'stale', is_master: false, cpu_percent: 1.5, memory_percent: 2.5, disk_percent: 3.5,
      uptime_seconds: 9, active_backups: 1, last_seen: new Date(now - 301_000).toISOString(),
    })
    const view = toNodeView(stale, now, T)
    expect(view).toMatchObject({ kind: 'agent', labels: { env: 'prod' }, created_at: '2025-01-01T00:00:00.000Z', last_sample_at: new Date(now - 400_000).toISOString() })
    expect(JSON.stringify(view)).not.toContain('secret-hash')
  })
})
