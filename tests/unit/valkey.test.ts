import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { clusterNode } from '../../shared/contracts/seed004'
import { cpuPercent, formatBytes, formatUptime, nodeMetrics, sampleFromInfo } from '../../server/services/valkey/metrics'
import { formatSlots, keyspaceKeys, parseClusterNodes, parseInfo, toClusterNode, uncoveredSlots } from '../../server/services/valkey/parse'
import { alarmFlags, byCluster, coverageText, formatThousands, groupByMaster, notOkNodes } from '../../utils/valkey'

/** Outputs recorded from a 6-node redis-server 7.0 cluster (ports 27110–27115). */
const recorded = (name: string) => readFileSync(new URL(`./fixtures/valkey/${name}`, import.meta.url), 'utf8')

const ID = {
  m1: 'cf3c2f2e4c48bea7c124d7096017151a33429255', m2: '416a0efe254f7ace010c0d30c5fd4bd39455c753', m3: 'eca46552e9a1c86a694f9715b1c55dcfb70f8989',
  r1: '89ca19ef8c9d5da24ac5397cdde5cf47d301c094', r2: '003767f128eb2c418fd1ba17309e832880745c6b', r3: '5f0448a43290ce91393e7de0a6ecc114359e6978',
}
const hex = (c: string) => c.repeat(40)

describe('parseClusterNodes on recorded outputs', () => {
  it('reads a healthy cluster: roles, addresses without the bus port, slots, replica links', () => {
    const nodes = parseClusterNodes(recorded('nodes-ok.txt'))
    expect(nodes).toHaveLength(6)
    const byId = new Map(nodes.map(n => [n.id, n]))
    const m1 = byId.get(ID.m1)!
    expect(m1).toMatchObject({
      address: '127.0.0.1:27110', host: '127.0.0.1', port: 27110, busPort: 37110, myself: true, role: 'master', masterId: null,
      fail: false, pfail: false, linkState: 'connected', slots: [{ from: 0, to: 5460 }], replicas: [ID.r1], configEpoch: 1,
    })
    expect(byId.get(ID.r2)).toMatchObject({ role: 'slave', masterId: ID.m2, slots: [], replicas: [], myself: false, flags: ['slave'] })
    expect(nodes.filter(n => n.role === 'master').map(n => n.replicas.length)).toEqual([1, 1, 1])
    expect(uncoveredSlots(nodes.filter(n => n.role === 'master').flatMap(n => n.slots))).toEqual([])
  })

  it('maps to the seed\'s list entries: slots and replicas for masters, masterNodeId for replicas', () => {
    const nodes = parseClusterNodes(recorded('nodes-ok.txt')).map(toClusterNode)
    for (const n of nodes) expect(clusterNode.parse(n)).toEqual(n)
    expect(nodes.find(n => n.nodeId === ID.m1)).toEqual({
      nodeId: ID.m1, nodeAddress: '127.0.0.1:27110', role: 'master', status: 'connected', slots: '0-5460', flags: ['myself', 'master'], replicas: [ID.r1],
    })
    expect(nodes.find(n => n.nodeId === ID.r1)).toEqual({
      nodeId: ID.r1, nodeAddress: '127.0.0.1:27114', role: 'slave', status: 'connected', flags: ['slave'], masterNodeId: ID.m1,
    })
  })

  it('sees a master suspected down (link disconnected), then failed, then its replica promoted', () => {
    const pfail = new Map(parseClusterNodes(recorded('nodes-pfail.txt')).map(n => [n.id, n]))
    expect(pfail.get(ID.m2)).toMatchObject({ linkState: 'disconnected', fail: false, role: 'master' })

    const fail = new Map(parseClusterNodes(recorded('nodes-fail.txt')).map(n => [n.id, n]))
    expect(fail.get(ID.m2)).toMatchObject({ fail: true, flags: ['master', 'fail'], pingSent: 1796140691091, slots: [{ from: 5461, to: 10922 }] })

    const after = parseClusterNodes(recorded('nodes-failover.txt'))
    const promoted = after.find(n => n.id === ID.r2)!
    expect(promoted).toMatchObject({ role: 'master', masterId: null, slots: [{ from: 5461, to: 10922 }], configEpoch: 7 })
    expect(after.find(n => n.id === ID.m2)).toMatchObject({ role: 'master', fail: true, slots: [], replicas: [] })
    expect(uncoveredSlots(after.filter(n => n.role === 'master' && !n.fail).flatMap(n => n.slots))).toEqual([])
    expect(uncoveredSlots(parseClusterNodes(recorded('nodes-fail.txt')).filter(n => n.role === 'master' && !n.fail).flatMap(n => n.slots))).toEqual(['5461-10922'])
  })
})

describe('parseClusterNodes edge cases', () => {
  it('reads hostname and auxiliary fields (Redis 7.2+), IPv6 and addresses without an IP', () => {
    const [a, b, c, d] = parseClusterNodes([
      `${hex('a')} 10.0.1.100:6379@16379,cache-a.example,shard-id=${hex('f')} myself,master - 0 0 1 connected 0-5460`,
      `${hex('b')} 10.0.1.101:6379@16379,,tls-port=0,shard-id=${hex('f')} slave ${hex('a')} 0 1700000000000 1 connected`,
      `${hex('c')} ::1:7000@17000 master - 0 0 2 connected 5461-16383`,
      `${hex('d')} :7001@17001 master,noaddr - 0 0 0 disconnected`,
    ].join('\n'))
    expect(a).toMatchObject({ address: '10.0.1.100:6379', hostname: 'cache-a.example', aux: { 'shard-id': hex('f') }, replicas: [hex('b')] })
    expect(b).toMatchObject({ address: '10.0.1.101:6379', hostname: null, aux: { 'tls-port': '0', 'shard-id': hex('f') }, masterId: hex('a') })
    expect(c).toMatchObject({ address: '[::1]:7000', host: '::1', port: 7000, busPort: 17000 })
    expect(d).toMatchObject({ address: null, noaddr: true, linkState: 'disconnected' })
  })

  it('reads single slots, several ranges, and migrating/importing entries apart from served slots', () => {
    const [n] = parseClusterNodes(`${hex('a')} 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-99 100 200-300 [301->-${hex('b')}] [302-<-${hex('c')}]\n`)
    expect(n!.slots).toEqual([{ from: 0, to: 99 }, { from: 100, to: 100 }, { from: 200, to: 300 }])
    expect(n!.migrating).toEqual([{ slot: 301, nodeId: hex('b') }])
    expect(n!.importing).toEqual([{ slot: 302, nodeId: hex('c') }])
    expect(formatSlots(n!.slots)).toBe('0-99,100,200-300')
    expect(uncoveredSlots(n!.slots)).toEqual(['101-199', '301-16383'])
  })

  it('reads pfail (fail?), handshake and noflags; "replica" counts as slave', () => {
    const nodes = parseClusterNodes([
      `${hex('a')} 127.0.0.1:7000@17000 master,fail? - 1700000000000 0 1 connected 0-16383`,
      `${hex('b')} 127.0.0.1:7001@17001 handshake - 0 0 0 disconnected`,
      `${hex('c')} 127.0.0.1:7002@17002 noflags - 0 0 0 connected`,
      `${hex('d')} 127.0.0.1:7003@17003 myself,replica ${hex('a')} 0 0 1 connected`,
    ].join('\r\n'))
    expect(nodes[0]).toMatchObject({ pfail: true, fail: false, flags: ['master', 'fail?'], replicas: [hex('d')] })
    expect(nodes[1]).toMatchObject({ handshake: true, flags: ['handshake'], role: 'master' })
    expect(nodes[2]).toMatchObject({ flags: [], role: 'master' })
    expect(nodes[3]).toMatchObject({ role: 'slave', myself: true, masterId: hex('a') })
  })

  it('refuses what it cannot read, naming the line', () => {
    expect(parseClusterNodes('')).toEqual([])
    expect(() => parseClusterNodes('ERR This instance has cluster support disabled')).toThrow(/line 1 has 7 fields/)
    expect(() => parseClusterNodes(`${hex('a')} 127.0.0.1:7000@17000 master - 0 0 1 connected 99999`)).toThrow(/out of 0-16383/)
    expect(() => parseClusterNodes(`${hex('a')} 127.0.0.1:7000@17000 master - 0 0 1 connected x-y`)).toThrow(/slot field "x-y"/)
    expect(() => parseClusterNodes(`${hex('a')} 127.0.0.1:7000@17000 master - 0 0 1 sleeping`)).toThrow(/link state "sleeping"/)
    expect(() => parseClusterNodes('nothex 127.0.0.1:7000@17000 master - 0 0 1 connected')).toThrow(/no node id/)
  })
})

describe('INFO and metrics', () => {
  it('parses INFO sections into key → value and counts keyspace keys', () => {
    const info = parseInfo(recorded('info-master.txt'))
    expect(info).toMatchObject({ redis_mode: 'cluster', used_memory: '1905912', maxmemory: '0', connected_clients: '1' })
    expect(keyspaceKeys(parseInfo('# Keyspace\r\ndb0:keys=12,expires=1,avg_ttl=0\r\ndb3:keys=5,expires=0,avg_ttl=0\r\n'))).toBe(17)
    expect(keyspaceKeys(info)).toBe(0)
  })

  it('formats memory the seed\'s way', () => {
    expect(formatBytes(2252341248)).toBe('2.1GB')
    expect(formatBytes(8589934592)).toBe('8GB')
    expect(formatBytes(1905912)).toBe('1.8MB')
    expect(formatBytes(1536)).toBe('1.5KB')
    expect(formatBytes(512)).toBe('512B')
    expect(formatBytes(0)).toBe('0B')
    expect(formatBytes(1024 * 1024 - 10)).toBe('1MB')
    expect(formatBytes(3 * 1024 ** 4)).toBe('3TB')
  })

  it('formats uptime as "3d 14h" and shorter spans by their two largest units', () => {
    expect(formatUptime(3 * 86_400 + 14 * 3600 + 59)).toBe('3d 14h')
    expect(formatUptime(14 * 3600 + 5 * 60)).toBe('14h 5m')
    expect(formatUptime(5 * 60 + 3)).toBe('5m 3s')
    expect(formatUptime(42)).toBe('42s')
  })

  it('computes cpu percent from the change of used_cpu_sys + used_cpu_user between polls', () => {
    const info = (sys: number, user: number, runId = 'r1') => ({ used_cpu_sys: String(sys), used_cpu_user: String(user), uptime_in_seconds: '100', run_id: runId })
    const first = cpuPercent(info(1, 1), 10_000)
    expect(first.percent).toBe(2) // 2 s of cpu over 100 s of uptime
    const second = cpuPercent(info(1.3, 1.2), 12_000, first.reading)
    expect(second.percent).toBe(25) // 0.5 s over 2 s
    // A restarted node (another run id) falls back to its average since start.
    expect(cpuPercent(info(0.1, 0.1, 'r2'), 14_000, second.reading).percent).toBe(0.2)
  })

  it('builds the seed\'s metrics and the stats sample of a node', () => {
    const info = { ...parseInfo(recorded('info-master.txt')), maxmemory: String(8 * 1024 ** 3), instantaneous_ops_per_sec: '2341', uptime_in_seconds: String(3 * 86_400 + 14 * 3600), rdb_bgsave_in_progress: '1' }
    const m = nodeMetrics({ nodeId: ID.m1, nodeAddress: '127.0.0.1:27110', role: 'master', slots: '0-5460' }, info, 45.2, 1250789)
    expect(m).toEqual({
      nodeId: ID.m1, nodeAddress: '127.0.0.1:27110', role: 'master', status: 'online',
      memory: { used: '1.8MB', max: '8GB', usedBytes: 1905912, maxBytes: 8589934592, percent: 0 },
      cpu: { percent: 45.2, cores: 1 }, connections: 1, opsPerSec: 2341, uptime: '3d 14h', keyCount: 1250789, slots: '0-5460',
    })
    // Without maxmemory the host's memory is the maximum.
    expect(nodeMetrics({ nodeId: ID.m1, nodeAddress: 'a:1', role: 'master', slots: '' }, { used_memory: '1024', total_system_memory: '4096' }, 0, 0).memory)
      .toEqual({ used: '1KB', max: '4KB', usedBytes: 1024, maxBytes: 4096, percent: 25 })
    const ts = new Date()
    expect(sampleFromInfo({ ...info, aof_rewrite_in_progress: '1' }, { ...m, cpu: { percent: 130, cores: 1 } }, ts))
      .toEqual({ ts, cpuPercent: 100, memoryPercent: expect.closeTo(0.0222, 4), diskPercent: null, uptimeSeconds: 3 * 86_400 + 14 * 3600, activeBackups: 2 })
  })
})

describe('the cluster view\'s grouping', () => {
  const nodes = parseClusterNodes(recorded('nodes-failover.txt')).map(toClusterNode)

  it('puts each replica under its master, masters by first slot, a failed master without slots last', () => {
    const groups = groupByMaster(nodes, [])
    expect(groups.map(g => [g.master?.node.nodeAddress, g.replicas.map(r => r.node.nodeAddress)])).toEqual([
      ['127.0.0.1:27110', ['127.0.0.1:27114']],
      ['127.0.0.1:27115', []],
      ['127.0.0.1:27112', ['127.0.0.1:27113']],
      ['127.0.0.1:27111', []],
    ])
  })

  it('keeps replicas of an unlisted master in a group of their own, and joins metrics by node id', () => {
    const replica = nodes.find(n => n.nodeId === ID.r1)!
    const metrics = { nodeId: ID.r1, nodeAddress: replica.nodeAddress, role: 'slave' as const, status: 'offline' as const, error: 'timed out', slots: '' }
    const groups = groupByMaster([replica], [metrics])
    expect(groups).toEqual([{ master: null, replicas: [{ node: replica, metrics }] }])
  })

  it('splits several clusters by each node\'s cluster, and gives the only cluster every node without one', () => {
    const watched = (name: string) => ({ name, totalNodes: 0, mastersCount: 0, slavesCount: 0, clusterState: 'ok' as const, uncoveredSlots: [], polledAt: null, error: null })
    const [a, b] = [watched('sessions'), watched('cache')]
    const tagged = nodes.map((n, i) => ({ ...n, cluster: i < 3 ? 'sessions' : 'cache' }))
    const views = byCluster([a, b], tagged, [])
    expect(views.map(v => [v.cluster.name, v.groups.flatMap(g => [g.master, ...g.replicas]).filter(Boolean).length])).toEqual([['sessions', 3], ['cache', nodes.length - 3]])
    expect(byCluster([a], nodes, [])[0]!.groups).toEqual(groupByMaster(nodes, []))
    expect(byCluster([], nodes, [])).toEqual([])
  })

  it('says which slots are not served, and badges only alarming flags', () => {
    expect(coverageText([])).toBe('All 16,384 slots served')
    expect(coverageText(['5461-10922', '16000'])).toBe('Slots not served: 5461-10922, 16000')
    expect(alarmFlags(['myself', 'master', 'fail?'])).toEqual(['pfail'])
    expect(alarmFlags(['master', 'fail', 'noaddr'])).toEqual(['fail', 'noaddr'])
    expect(formatThousands(1250789)).toBe('1,250,789')
    const failed = parseClusterNodes(recorded('nodes-failover.txt')).map(toClusterNode)
    const down = { nodeId: ID.m2, nodeAddress: '127.0.0.1:27111', role: 'master' as const, status: 'offline' as const, error: 'connection refused', slots: '' }
    expect(notOkNodes(failed, [down])).toEqual(['127.0.0.1:27111 (fail, offline)'])
  })
})
