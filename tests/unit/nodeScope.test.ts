import { describe, expect, it } from 'vitest'
import type { NodeStats } from '../../shared/contracts/seed000'
import { addReadings, eventInScope, nodesInScope, ownName, parseScope, scopeGroups, scopeLabel, scopeMatches, scopeText, type ReadingRow } from '../../utils/nodeScope'

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

  it('lists the picker\'s matching choices in their groups, at most `limit` nodes, and counts the rest', () => {
    const groups = scopeGroups(nodes, members)
    const texts = (query: string, limit = 50) => {
      const m = scopeMatches(groups, new Map([['site-b', 'connection refused']]), query, limit)
      return { top: m.top.map(o => o.text), sections: m.sections.map(s => [s.title, ...s.options.map(o => `${o.value}=${o.text}`)]), hidden: m.hidden }
    }
    expect(texts('')).toEqual({
      top: ['All nodes'],
      sections: [
        ['This server', 'local=All of this server', 'node:1=master', 'node:2=web-local'],
        ['Member site-a', 'member:site-a=All of site-a', 'node:5=site-a / web-01', 'node:4=site-a / web-02'],
        ['Member site-b (unreachable)', 'member:site-b=All of site-b', 'node:3=site-b / db-01'],
      ],
      hidden: 0,
    })
    // Case-insensitive, over the text shown: a member's name finds its "All of" and its nodes.
    expect(texts(' WEB-0 ')).toEqual({ top: [], sections: [['Member site-a', 'node:5=site-a / web-01', 'node:4=site-a / web-02']], hidden: 0 })
    expect(texts('site-b').sections).toEqual([['Member site-b (unreachable)', 'member:site-b=All of site-b', 'node:3=site-b / db-01']])
    expect(texts('nothing')).toEqual({ top: [], sections: [], hidden: 0 })
    // Past the limit, nodes are left out and counted; the "All of" choices are not nodes and stay.
    expect(texts('', 2)).toEqual({
      top: ['All nodes'],
      sections: [['This server', 'local=All of this server', 'node:1=master', 'node:2=web-local'], ['Member site-a', 'member:site-a=All of site-a'], ['Member site-b (unreachable)', 'member:site-b=All of site-b']],
      hidden: 3,
    })
    // A server without members has no "All of this server": "All nodes" says it.
    expect(scopeMatches(scopeGroups(nodes.slice(0, 2), new Map()), new Map(), '', 50).sections).toEqual([
      { title: 'This server', options: [{ value: 'node:1', text: 'master' }, { value: 'node:2', text: 'web-local' }] },
    ])
  })

  it('names the picker\'s choice when closed, and a node or member it does not know as not found', () => {
    const names = new Map(nodes.map(n => [n.id, n.hostname]))
    const label = (text: string) => scopeLabel(parseScope(text), names, members)
    expect(label('')).toBe('All nodes')
    expect(label('local')).toBe('All of this server')
    expect(label('member:site-a')).toBe('All of site-a')
    expect(label('member:site-z')).toBe('member:site-z (not found)')
    expect(label('node:2')).toBe('web-local')
    expect(label('node:5')).toBe('site-a / web-01')
    expect(label('node:99')).toBe('node:99 (not found)')
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
