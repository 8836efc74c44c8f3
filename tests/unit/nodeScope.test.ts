import { describe, expect, it } from 'vitest'
import type { NodeStats } from '../../shared/contracts/seed000'
import { addReadings, eventInScope, nodesInScope, ownName, parseScope, scopeGroups, scopeText, type ReadingRow } from '../../utils/nodeScope'

const node = (id: number, hostname: string, patch: Partial<NodeStats> = {}): NodeStats => ({
  id, hostname, status: 'online', state: 'online', is_master: false, cpu_percent: 10, memory_percent: 20, disk_percent: 30,
  uptime_seconds: 5, active_backups: 0, last_seen: '2026-12-01T10:00:00.000Z', ...patch,
})
const members = new Map([[3, 'site-b'], [4, 'site-a'], [5, 'site-a']])
const nodes = [node(1, 'master', { is_master: true, last_seen: null }), node(2, 'web-local'), node(3, 'site-b / db-01'), node(4, 'site-a / web-02'), node(5, 'site-a / web-01')]

describe('the dashboard\'s node selection', () => {
  it('round-trips through the URL and falls back to every node on anything unknown', () => {
    for (const text of ['local', 'member:site-a', 'node:12']) expect(scopeText(parseScope(text))).toBe(text)
    for (const text of ['', 'member:', 'member:a b', 'node:0', 'node:x', 'nodes', 'node:12345678901']) expect(parseScope(text)).toEqual({ kind: 'all' })
  })

  it('selects this server\'s nodes, one member\'s or one node', () => {
    const ids = (text: string) => nodesInScope(nodes, parseScope(text), members).map(n => n.id)
    expect(ids('')).toEqual([1, 2, 3, 4, 5])
    expect(ids('local')).toEqual([1, 2])
    expect(ids('member:site-a')).toEqual([4, 5])
    expect(ids('member:site-c')).toEqual([])
    expect(ids('node:3')).toEqual([3])
  })

  it('groups the selector: this server first, then members by name, nodes by their own name', () => {
    expect(scopeGroups(nodes, members)).toEqual([
      { member: null, nodes: [{ id: 1, name: 'master' }, { id: 2, name: 'web-local' }] },
      { member: 'site-a', nodes: [{ id: 5, name: 'web-01' }, { id: 4, name: 'web-02' }] },
      { member: 'site-b', nodes: [{ id: 3, name: 'db-01' }] },
    ])
    expect(ownName('site-a / web-01', 'site-a')).toBe('web-01')
    expect(ownName('web-01', 'site-a')).toBe('web-01')
    expect(ownName('site-a / web-01', null)).toBe('site-a / web-01')
  })

  it('places events by their node, or by the member that sent an event about no node', () => {
    const about = (node_id: number | null, data: Record<string, unknown> = {}) => ({ node_id, data })
    const scope = parseScope('member:site-a')
    expect(eventInScope(scope, about(4), members)).toBe(true)
    expect(eventInScope(scope, about(3), members)).toBe(false)
    expect(eventInScope(scope, about(null, { member: 'site-a' }), members)).toBe(true)
    expect(eventInScope(scope, about(null), members)).toBe(false)
    expect(eventInScope(parseScope('local'), about(null), members)).toBe(true)
    expect(eventInScope(parseScope('local'), about(null, { member: 'site-b' }), members)).toBe(false)
    expect(eventInScope(parseScope('local'), about(2), members)).toBe(true)
    expect(eventInScope(parseScope('node:2'), about(null), members)).toBe(false)
  })
})

describe('the readings table', () => {
  const at = (s: number) => `2026-12-01T10:00:${String(s).padStart(2, '0')}.000Z`

  it('starts with each reporting node\'s latest reading and adds a row only when a node reported again', () => {
    const silent = node(6, 'silent', { cpu_percent: null, last_seen: null })
    let rows: ReadingRow[] = addReadings([], { timestamp: at(1), nodes: [node(2, 'a', { last_seen: at(0) }), silent] }, 10)
    expect(rows.map(r => [r.id, r.at])).toEqual([[2, at(0)]])
    rows = addReadings(rows, { timestamp: at(6), nodes: [node(2, 'a', { last_seen: at(0) })] }, 10)
    expect(rows).toHaveLength(1)
    rows = addReadings(rows, { timestamp: at(11), nodes: [node(2, 'a', { last_seen: at(9), cpu_percent: 55 }), node(3, 'b', { last_seen: at(8) })] }, 10)
    expect(rows.map(r => [r.id, r.cpu])).toEqual([[2, 55], [3, 10], [2, 10]])
  })

  it('adds the live master (no last_seen) when its figures changed, and keeps at most `max` rows', () => {
    const master = (cpu: number) => node(1, 'm', { is_master: true, last_seen: null, cpu_percent: cpu })
    let rows = addReadings([], { timestamp: at(1), nodes: [master(5)] }, 2)
    rows = addReadings(rows, { timestamp: at(2), nodes: [master(5)] }, 2)
    expect(rows).toHaveLength(1)
    rows = addReadings(rows, { timestamp: at(3), nodes: [master(6)] }, 2)
    rows = addReadings(rows, { timestamp: at(4), nodes: [master(7)] }, 2)
    expect(rows.map(r => [r.cpu, r.at])).toEqual([[7, at(4)], [6, at(3)]])
  })
})
