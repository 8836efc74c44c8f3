import { describe, expect, it } from 'vitest'
import type { NodeStats } from '../../shared/contracts/seed000'
import { isLabelKey, labelKeys, matchesSearch, parseLabels, shownLabels } from '../../utils/labels'
import { filterNodes, groupNodes, orderByGroup, sortNodes } from '../../utils/nodeList'
import { formatDateTime, plural } from '../../utils/format'
import { eventTypeLabel } from '../../utils/eventText'

const node = (id: number, hostname: string, patch: Partial<NodeStats> = {}): NodeStats => ({
  id, hostname, status: 'online', state: 'online', is_master: false, cpu_percent: 10, memory_percent: 20, disk_percent: 30,
  uptime_seconds: 5, active_backups: 0, last_seen: '2026-12-01T10:00:00.000Z', ...patch,
})

describe('matchesSearch', () => {
  const labels = { cluster: 'eu-1', Role: 'Web' }
  it('matches a part of the hostname or of a label value, case-insensitively', () => {
    expect(matchesSearch('web-01.example.com', labels, 'EXAMPLE')).toBe(true)
    expect(matchesSearch('db-01', labels, 'eu')).toBe(true)
    expect(matchesSearch('db-01', labels, 'we')).toBe(true)
    expect(matchesSearch('db-01', labels, 'cluster')).toBe(false)
    expect(matchesSearch('db-01', {}, 'eu')).toBe(false)
  })

  it('matches key=value exactly (any case), and key= any value of that key', () => {
    expect(matchesSearch('db-01', labels, 'cluster=eu-1')).toBe(true)
    expect(matchesSearch('db-01', labels, 'CLUSTER=EU-1')).toBe(true)
    expect(matchesSearch('db-01', labels, 'role=web')).toBe(true)
    expect(matchesSearch('db-01', labels, 'cluster=eu')).toBe(false)
    expect(matchesSearch('db-01', labels, 'cluster=')).toBe(true)
    expect(matchesSearch('db-01', labels, 'rack=')).toBe(false)
  })

  it('needs every word to match; an empty search matches everything', () => {
    expect(matchesSearch('db-01', labels, 'cluster=eu-1 db')).toBe(true)
    expect(matchesSearch('db-01', labels, 'cluster=eu-1 web-02')).toBe(false)
    expect(matchesSearch('db-01', labels, '   ')).toBe(true)
    // "=x" has no key: a plain word, looked for in the hostname and values.
    expect(matchesSearch('a=b', {}, '=b')).toBe(true)
  })
})

describe('shownLabels and labelKeys', () => {
  it('leave out the labels a tag already shows, sorted by key', () => {
    expect(shownLabels({ kind: 'agent', labels: { z: '1', member: 'not-a-member-node', a: '2' } })).toEqual([['a', '2'], ['member', 'not-a-member-node'], ['z', '1']])
    expect(shownLabels({ kind: 'member', labels: { member: 'site-a', source: 'x:1', env: 'prod' } })).toEqual([['env', 'prod']])
    expect(shownLabels({ kind: 'valkey', labels: { valkey_role: 'master', valkey_cluster: 'c1' } })).toEqual([['valkey_cluster', 'c1']])
  })

  it('list each key once, for "Group by"', () => {
    expect(labelKeys([
      { kind: 'agent', labels: { cluster: 'a', env: 'x' } },
      { kind: 'agent', labels: { cluster: 'b' } },
      { kind: 'member', labels: { member: 'm', source: 's' } },
    ])).toEqual(['cluster', 'env'])
  })

  it('take only label names the API takes as group keys', () => {
    expect(['cluster', 'k8s.io/zone', 'a_b-c'].every(isLabelKey)).toBe(true)
    expect(['', 'a b', 'x'.repeat(64), '<script>'].some(isLabelKey)).toBe(false)
    expect(parseLabels('cluster=eu-1, env=prod')).toEqual({ labels: { cluster: 'eu-1', env: 'prod' } })
  })
})

describe('filterNodes with labels, orderByGroup and groupNodes', () => {
  const a = node(1, 'a-web', {})
  const b = node(2, 'b-db', { state: 'unreachable' })
  const c = node(3, 'c-web', { status: 'stale', state: 'stale' })
  const d = node(4, 'd-lonely', { status: 'offline', state: 'offline', last_seen: null })
  const labels = new Map([[1, { cluster: 'eu' }], [2, { cluster: 'us' }], [3, { cluster: 'eu' }]])

  it('search by key=value and by label value, beside the status filter', () => {
    expect(filterNodes([a, b, c, d], 'cluster=eu', 'all', labels).map(n => n.id)).toEqual([1, 3])
    expect(filterNodes([a, b, c, d], 'us', 'all', labels).map(n => n.id)).toEqual([2])
    expect(filterNodes([a, b, c, d], 'cluster=eu', 'stale', labels).map(n => n.id)).toEqual([3])
    expect(filterNodes([a, b, c, d], 'web', 'all').map(n => n.id)).toEqual([1, 3])
  })

  it('order by the group value A→Z, nodes without the label last, keeping the sort within each group', () => {
    const byStatus = sortNodes([a, b, c, d], 'status')
    expect(byStatus.map(n => n.id)).toEqual([2, 3, 4, 1])
    expect(orderByGroup(byStatus, 'cluster', labels).map(n => n.id)).toEqual([3, 1, 2, 4])
  })

  it('split a page into its groups, each counted over every matching node, not only the page', () => {
    const matching = orderByGroup(sortNodes([a, b, c, d], 'name'), 'cluster', labels)
    const page = matching.slice(0, 2)
    const groups = groupNodes(page, matching, 'cluster', labels)
    expect(groups.map(g => [g.value, g.nodes.map(n => n.id), g.total])).toEqual([['eu', [1, 3], 2]])
    expect(groups[0]!.byStatus).toEqual({ online: 1, unreachable: 0, stale: 1, offline: 0, pending: 0 })
    const all = groupNodes(matching, matching, 'cluster', labels)
    expect(all.map(g => [g.value, g.total])).toEqual([['eu', 2], ['us', 1], [null, 1]])
    expect(all[1]!.byStatus.unreachable).toBe(1)
    expect(all[2]!.byStatus.offline).toBe(1)
  })

  it('count the page\'s own master as unreachable in its group while the stream is down', () => {
    const master = node(9, 'master', { is_master: true, last_seen: null })
    const withMaster = new Map([[9, { cluster: 'eu' }]])
    expect(groupNodes([master], [master], 'cluster', withMaster, true)[0]!.byStatus).toEqual({ online: 0, unreachable: 1, stale: 0, offline: 0, pending: 0 })
  })
})

describe('wording', () => {
  it('plural says "1 node" and "2 nodes", with thousands separated', () => {
    expect([0, 1, 2, 1000].map(n => plural(n, 'node'))).toEqual(['0 nodes', '1 node', '2 nodes', '1,000 nodes'])
    expect(plural(1, 'entry', 'entries')).toBe('1 entry')
    expect(plural(3, 'entry', 'entries')).toBe('3 entries')
  })

  it('a date and time reads as toLocaleString writes it (one shared formatter instead of one per call)', () => {
    for (const iso of ['2026-12-02T13:05:09.000Z', '2026-01-31T23:59:59.999Z', '1999-07-04T00:00:00.000Z']) {
      expect(formatDateTime(iso)).toBe(new Date(iso).toLocaleString())
    }
    expect(formatDateTime(null)).toBe('—')
  })

  it('event type names say what the events\' titles say', () => {
    expect(eventTypeLabel('node_registered')).toBe('Node added')
    expect(eventTypeLabel('node_removed')).toBe('Node deleted')
    expect(eventTypeLabel('backup_failed')).toBe('Backup failed')
    expect(eventTypeLabel('some_new_type')).toBe('Some new type')
  })
})
