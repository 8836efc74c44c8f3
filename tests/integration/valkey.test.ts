/**
 * Seed 004 against a real 6-node Redis 7 cluster (3 masters, 3 replicas, password) on loopback:
 * discovery, metrics, the registry and samples, the three endpoints and their errors, the check
 * script, and a master killed → failed, cluster degraded, its replica promoted, events logged.
 * The cluster and the server are this file's own; both are torn down even when a test fails.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Cluster } from 'iovalkey'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { NodeView } from '../../shared/contracts/rest'
import type { EventPage } from '../../shared/contracts/seed002'
import {
  clusterMetricsData, clusterNode, clusterNodesData, envelope, valkeyNodeMetrics,
  type ClusterMetricsData, type ClusterNode, type ClusterNodesData, type SeedEnvelope, type ValkeyNodeMetrics,
} from '../../shared/contracts/seed004'
import { startDedicated, until, type Dedicated } from './support/dedicated'
import { startRedisCluster, type RedisCluster } from './support/redisCluster'

// Each project has its own ports, so the PGlite and Postgres runs never meet.
// Nodes on 211xx, their cluster bus ports (+10000) on 311xx: both below Linux's ephemeral range
// (32768–60999), so no client socket of another test can take one between the check and the bind.
const BASE_PORT = inject('server').driver === 'postgres' ? 21110 : 21100
const CHECK_SCRIPT = fileURLToPath(new URL('../../scripts/check-cluster.mjs', import.meta.url))

let redis: RedisCluster
let d: Dedicated

beforeAll(async () => {
  redis = await startRedisCluster(BASE_PORT)
  d = await startDedicated('valkey', {
    // One seed with the password in its URL, one plain: either finds the cluster.
    VALKEY_URL: `redis://:${redis.password}@127.0.0.1:${BASE_PORT},127.0.0.1:${BASE_PORT + 1}`,
    VALKEY_USE_CLUSTER: 'true', VALKEY_POLL_INTERVAL: '1', VALKEY_TIMEOUT: '1',
  })
}, 120_000)
afterAll(async () => {
  await d?.stop()
  await redis?.stop()
})

const listValkey = async () => {
  const res = await d.call<SeedEnvelope<ClusterNodesData>>('GET', '/api/cluster/nodes?kind=valkey')
  expect(res.status, res.text).toBe(200)
  return envelope(clusterNodesData).parse(res.body).data.nodes as ClusterNode[]
}
const metrics = async () => {
  const res = await d.call<SeedEnvelope<ClusterMetricsData>>('GET', '/api/cluster/nodes/metrics')
  expect(res.status, res.text).toBe(200)
  return envelope(clusterMetricsData).parse(res.body).data
}
const eventsOf = async (query: string) => {
  const res = await d.call<EventPage>('GET', `/api/v1/events?limit=500&${query}`)
  expect(res.status, res.text).toBe(200)
  return res.body.events.reverse()
}

describe('Valkey cluster discovery', () => {
  it('finds the 6 nodes with roles, slots and replica links, exactly as the seed lists them', async () => {
    await until('6 Valkey nodes', async () => (await listValkey()).length === 6, 20_000)
    const nodes = await listValkey()
    for (const n of nodes) expect(clusterNode.strict().parse(n)).toEqual(n)
    const masters = nodes.filter(n => n.role === 'master')
    const replicas = nodes.filter(n => n.role === 'slave')
    expect(masters).toHaveLength(3)
    expect(replicas).toHaveLength(3)
    expect(new Set(nodes.map(n => n.nodeAddress))).toEqual(new Set(redis.ports.map(p => `127.0.0.1:${p}`)))
    expect(masters.map(m => m.slots).sort()).toEqual(['0-5460', '10923-16383', '5461-10922'])
    for (const m of masters) {
      expect(m).toMatchObject({ status: 'connected', flags: expect.arrayContaining(['master']) })
      expect(m.replicas).toHaveLength(1)
      expect(replicas.find(r => r.nodeId === m.replicas![0])?.masterNodeId).toBe(m.nodeId)
    }
    for (const r of replicas) expect(r).not.toHaveProperty('slots')
    // The browser learns from /me that there is a cluster to show (the header's Valkey link).
    expect((await d.call<{ valkey: boolean }>('GET', '/api/v1/auth/me')).body.valkey).toBe(true)
  })

  it('lists the other nodes too, each with its kind, and refuses an unknown kind', async () => {
    const res = await d.call<SeedEnvelope<ClusterNodesData>>('GET', '/api/cluster/nodes')
    expect(res.status, res.text).toBe(200)
    const nodes = envelope(clusterNodesData).parse(res.body).data.nodes
    expect(nodes.filter(n => !('kind' in n))).toHaveLength(6)
    expect(nodes.find(n => 'kind' in n && n.kind === 'master')).toMatchObject({ nodeAddress: d.srv.info.masterHostname, role: 'master', status: 'online' })
    const bad = await d.call('GET', '/api/cluster/nodes?kind=printer')
    expect(bad.status).toBe(400)
    expect(bad.body.message).toMatch(/kind: must be one of master, agent, member, valkey/)
  })

  it('registers them as valkey nodes named by address, sampled like any node (cpu, memory, no disk)', async () => {
    await until('samples of all 6', async () => {
      const res = await d.call<NodeView[]>('GET', '/api/v1/nodes')
      return res.body.filter(n => n.kind === 'valkey' && n.status === 'online' && n.cpu_percent !== null).length === 6
    }, 20_000)
    const res = await d.call<NodeView[]>('GET', '/api/v1/nodes')
    const valkey = res.body.filter(n => n.kind === 'valkey')
    expect(valkey.map(n => n.hostname).sort()).toEqual(redis.ports.map(p => `127.0.0.1:${p}`))
    for (const n of valkey) {
      expect(n).toMatchObject({ is_master: false, disk_percent: null, active_backups: 0, labels: { valkey_cluster: 'valkey', valkey_role: expect.stringMatching(/^(master|replica)$/) } })
      expect(n.memory_percent).toBeGreaterThan(0)
      expect(n.uptime_seconds).toBeGreaterThanOrEqual(0)
    }
  })
})

describe('Valkey node metrics', () => {
  it('counts keys after writes and ops/s under a small load; the summary says 6 nodes, 3 + 3, ok', async () => {
    const client = new Cluster([{ host: '127.0.0.1', port: BASE_PORT }], { redisOptions: { password: redis.password } })
    try {
      await Promise.all(Array.from({ length: 300 }, (_, i) => client.set(`np:key:${i}`, 'x'.repeat(100))))
      const load = (async () => {
        const end = Date.now() + 4000
        while (Date.now() < end) await Promise.all(Array.from({ length: 50 }, (_, i) => client.get(`np:key:${i}`)))
      })()
      await until('ops/s under load', async () => (await metrics()).nodes.some(n => n.status === 'online' && n.opsPerSec > 10), 15_000)
      await load
    }
    finally {
      client.disconnect()
    }
    // Masters count with DBSIZE, replicas from INFO keyspace once replication has caught up.
    const keys = (m: ClusterMetricsData, role: string) => m.nodes.reduce((s, n) => s + (n.role === role && n.status === 'online' ? n.keyCount : 0), 0)
    await until('300 keys on the masters and on the replicas', async () => {
      const m = await metrics()
      return keys(m, 'master') === 300 && keys(m, 'slave') === 300
    }, 10_000)
    const m = await metrics()
    expect(m.clusterInfo).toEqual({ totalNodes: 6, mastersCount: 3, slavesCount: 3, clusterState: 'ok' })
    expect(m.clusters).toEqual([expect.objectContaining({ name: 'valkey', clusterState: 'ok', uncoveredSlots: [], error: null })])
    for (const n of m.nodes) {
      expect(n.status).toBe('online')
      if (n.status !== 'online') continue
      expect(n.memory.usedBytes).toBeGreaterThan(100_000)
      expect(n.memory.maxBytes).toBeGreaterThan(n.memory.usedBytes)
      expect(n.memory.used).toMatch(/^\d+(\.\d)?(KB|MB|GB)$/)
      expect(n.cpu.percent).toBeGreaterThanOrEqual(0)
      expect(n.connections).toBeGreaterThanOrEqual(1)
      expect(n.uptime).toMatch(/^\d+[ms]( \d+s)?$/)
    }
  })

  it('answers one node by cluster id or NodePulse id; 404 unknown, 400 malformed', async () => {
    const [first] = await listValkey()
    const byCluster = await d.call<SeedEnvelope<ValkeyNodeMetrics>>('GET', `/api/nodes/${first!.nodeId}/metrics`)
    expect(byCluster.status, byCluster.text).toBe(200)
    expect(envelope(valkeyNodeMetrics).parse(byCluster.body).data).toMatchObject({ nodeId: first!.nodeId, nodeAddress: first!.nodeAddress, status: 'online' })
    const nodes = await d.call<NodeView[]>('GET', '/api/v1/nodes')
    const registered = nodes.body.find(n => n.labels.valkey_node_id === first!.nodeId)!
    const byId = await d.call<SeedEnvelope<ValkeyNodeMetrics>>('GET', `/api/nodes/${registered.id}/metrics`)
    expect(byId.status, byId.text).toBe(200)
    expect(byId.body.data.nodeId).toBe(first!.nodeId)

    const unknown = await d.call('GET', `/api/nodes/${'a'.repeat(40)}/metrics`)
    expect(unknown.status).toBe(404)
    expect((await d.call('GET', `/api/nodes/${nodes.body.find(n => n.kind === 'master')!.id}/metrics`)).status).toBe(404)
    const bad = await d.call('GET', '/api/nodes/not-a-node/metrics')
    expect(bad.status).toBe(400)
    expect(bad.body.message).toMatch(/cluster node id \(40 hex characters\) or a NodePulse node id/)
    expect((await d.call('GET', `/api/nodes/${first!.nodeId}/metrics`, { auth: null })).status).toBe(401)
  })

  it('passes npm run check:cluster', () => {
    const run = spawnSync(process.execPath, [CHECK_SCRIPT, d.baseURL], { env: { ...process.env, NODEPULSE_TOKEN: d.bearer }, encoding: 'utf8', timeout: 30_000 })
    expect(run.status, run.stdout + run.stderr).toBe(0)
    expect(run.stdout).toMatch(/cluster: 6 nodes \(3 masters, 3 replicas\), state ok/)
    expect(run.stdout).toMatch(/all \d+ checks passed/)
  })
})

describe('Valkey failover', () => {
  it('a killed master shows offline and failed, the cluster degraded; its replica is promoted and NodePulse shows the new master', async () => {
    const before = await listValkey()
    const victim = before.find(n => n.role === 'master' && n.slots === '0-5460')!
    const replica = before.find(n => n.nodeId === victim.replicas![0])!
    await redis.kill(Number(victim.nodeAddress.split(':')[1]))

    await until('the master offline and the cluster degraded', async () => {
      const m = await metrics()
      return m.clusterInfo.clusterState === 'degraded' && m.nodes.find(n => n.nodeId === victim.nodeId)?.status === 'offline'
    }, 15_000)
    const down = (await metrics()).nodes.find(n => n.nodeId === victim.nodeId)!
    expect(down).toMatchObject({ status: 'offline', error: expect.stringMatching(/^(connection refused|cluster unreachable: .*)$/) })

    await until('the replica promoted', async () => {
      const nodes = await listValkey()
      return nodes.find(n => n.nodeId === replica.nodeId)?.role === 'master' && Boolean(nodes.find(n => n.nodeId === victim.nodeId)?.flags.includes('fail'))
    }, 30_000)
    const after = await listValkey()
    expect(after.find(n => n.nodeId === replica.nodeId)).toMatchObject({ role: 'master', slots: '0-5460', replicas: [] })
    expect(after.find(n => n.nodeId === victim.nodeId)).toMatchObject({ role: 'master', flags: expect.arrayContaining(['fail']), slots: '' })
    const nodes = await d.call<NodeView[]>('GET', '/api/v1/nodes')
    expect(nodes.body.find(n => n.labels.valkey_node_id === replica.nodeId)?.labels.valkey_role).toBe('master')

    await until('the events', async () => {
      const types = (await eventsOf('cluster_id=valkey')).map(e => e.event_type)
      return types.includes('valkey_failover') && types.includes('valkey_node_down') && types.includes('cluster_status_update')
    }, 10_000)
    const events = await eventsOf('cluster_id=valkey')
    const failover = events.find(e => e.event_type === 'valkey_failover')!
    expect(failover).toMatchObject({ severity: 'warning', resource_type: 'valkey_node', data: { previous_master_id: victim.nodeId, slots: '0-5460' } })
    expect(failover.message).toBe(`Failover in cluster valkey: replica ${replica.nodeAddress} was promoted to master of slots 0-5460, replacing ${victim.nodeAddress}`)
    const downs = events.filter(e => e.event_type === 'valkey_node_down' && e.data.valkey_node_id === victim.nodeId)
    expect(downs.length).toBeGreaterThanOrEqual(1)
    expect(downs.at(-1)).toMatchObject({ severity: 'error', data: { health: 'fail' } })
    expect(events.find(e => e.event_type === 'cluster_status_update')).toMatchObject({
      severity: 'warning', resource_type: 'valkey_cluster', data: { status: 'degraded', previous_status: 'ok' },
    })
    // The server's answers never carry the password.
    expect(JSON.stringify(events)).not.toContain(redis.password)
  })

  it('a node the cluster forgets is kept and marked left; the cluster is ok again', async () => {
    const failed = (await listValkey()).find(n => n.flags.includes('fail'))!
    const victimPort = Number(failed.nodeAddress.split(':')[1])
    for (const port of redis.ports.filter(p => p !== victimPort)) redis.cli(port, 'cluster', 'forget', failed.nodeId)
    await until('5 nodes, cluster ok', async () => {
      const m = await metrics()
      return m.clusterInfo.totalNodes === 5 && m.clusterInfo.clusterState === 'ok'
    }, 15_000)
    const nodes = await d.call<NodeView[]>('GET', '/api/v1/nodes')
    expect(nodes.body.find(n => n.labels.valkey_node_id === failed.nodeId)).toMatchObject({ kind: 'valkey', labels: { valkey_state: 'left' } })
    await until('left and ok events', async () => {
      const events = await eventsOf('cluster_id=valkey')
      return events.some(e => e.event_type === 'valkey_node_left') && events.some(e => e.event_type === 'cluster_status_update' && e.data.status === 'ok')
    }, 10_000)
    const left = (await eventsOf('cluster_id=valkey&event_type=valkey_node_left'))
    expect(left).toHaveLength(1)
    expect(left[0]).toMatchObject({ severity: 'warning', data: { valkey_node_id: failed.nodeId } })
  })
})

describe('Valkey clusters from the config file', () => {
  it('watches VALKEY_URL\'s cluster and the file\'s named one side by side, each node saying whose it is', async () => {
    // Both name the same real cluster (its surviving nodes), so each is watched as a cluster of its own.
    const file = join(mkdtempSync(join(tmpdir(), 'nodepulse-valkey-')), 'nodepulse.yaml')
    writeFileSync(file, `valkey:\n  - name: sessions\n    url:\n      - 127.0.0.1:${BASE_PORT + 2}\n    password: "${redis.password}"\n`)
    const two = await startDedicated('valkey-file', {
      NODEPULSE_CONFIG: file, VALKEY_URL: `127.0.0.1:${BASE_PORT + 1}`, VALKEY_PASSWORD: redis.password, VALKEY_POLL_INTERVAL: '1', VALKEY_TIMEOUT: '1',
    })
    try {
      const list = async () => envelope(clusterNodesData).parse((await two.call('GET', '/api/cluster/nodes?kind=valkey')).body).data.nodes as ClusterNode[]
      await until('both clusters listed', async () => new Set((await list()).map(n => n.cluster)).size === 2, 20_000)
      const nodes = await list()
      for (const n of nodes) expect(clusterNode.strict().parse(n)).toEqual(n)
      const of = (name: string) => nodes.filter(n => n.cluster === name).map(n => n.nodeId).sort()
      expect(of('sessions')).toHaveLength(5)
      expect(of('sessions')).toEqual(of('valkey'))
      const m = envelope(clusterMetricsData).parse((await two.call('GET', '/api/cluster/nodes/metrics')).body).data
      expect(m.clusters.map(c => c.name)).toEqual(['valkey', 'sessions'])
      expect(m.nodes.filter(n => n.cluster === 'sessions')).toHaveLength(5)
      const registered = (await two.call<NodeView[]>('GET', '/api/v1/nodes')).body.filter(n => n.kind === 'valkey')
      expect(registered.filter(n => n.labels.valkey_cluster === 'sessions')).toHaveLength(5)
    }
    finally {
      await two.stop()
    }
  }, 120_000)
})

describe('Valkey misconfigured', () => {
  it('answers the seed\'s empty lists with a message, and 503 for one node, when Valkey is not configured', async () => {
    // The project's shared server has no VALKEY_URL.
    const { api, asAdmin } = await import('./helpers')
    const auth = await asAdmin()
    const list = await api<SeedEnvelope<ClusterNodesData>>('GET', '/api/cluster/nodes?kind=valkey', { auth })
    expect(list.status).toBe(200)
    expect(list.body.data).toMatchObject({ nodes: [], message: expect.stringMatching(/Valkey is not configured: set VALKEY_URL/) })
    const all = await api<SeedEnvelope<ClusterMetricsData>>('GET', '/api/cluster/nodes/metrics', { auth })
    expect(all.status).toBe(200)
    expect(envelope(clusterMetricsData).parse(all.body).data).toMatchObject({ nodes: [], clusterInfo: { totalNodes: 0, clusterState: 'ok' } })
    const one = await api('GET', `/api/nodes/${'a'.repeat(40)}/metrics`, { auth })
    expect(one.status).toBe(503)
    expect(one.body.message).toMatch(/not configured/)
    // Unfiltered, NodePulse's own nodes are listed with their kind and no Valkey message.
    const mixed = await api<SeedEnvelope<ClusterNodesData>>('GET', '/api/cluster/nodes', { auth })
    expect(mixed.body.data.message).toBeUndefined()
    expect(mixed.body.data.nodes.every(n => 'kind' in n)).toBe(true)
  })

  it('answers 500 with a sanitized message for a wrong password', async () => {
    const wrong = await startDedicated('valkey-wrong', {
      VALKEY_URL: `127.0.0.1:${BASE_PORT + 1}`, VALKEY_PASSWORD: 'not-the-password', VALKEY_POLL_INTERVAL: '1', VALKEY_TIMEOUT: '1',
    })
    try {
      const res = await wrong.call('GET', '/api/cluster/nodes?kind=valkey')
      expect(res.status, res.text).toBe(500)
      expect(res.body.message).toBe('Valkey cluster valkey: authentication failed (check the cluster\'s username and password)')
      expect(res.text).not.toMatch(/127\.0\.0\.1|not-the-password/)
      expect((await wrong.call('GET', `/api/nodes/${'a'.repeat(40)}/metrics`)).status).toBe(500)
      // The unfiltered list still shows NodePulse's own nodes, with Valkey's failure as the message.
      const all = await wrong.call<SeedEnvelope<ClusterNodesData>>('GET', '/api/cluster/nodes')
      expect(all.status).toBe(200)
      expect(all.body.data.message).toMatch(/authentication failed/)
    }
    finally {
      await wrong.stop()
    }
  }, 120_000)
})
