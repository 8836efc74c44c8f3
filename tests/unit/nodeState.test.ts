import { describe, expect, it } from 'vitest'
import type { NodeStats } from '../../shared/contracts/seed000'
import { filterNodes, sortNodes, summarize } from '../../utils/nodeList'
import { isCurrent, knownAt, shownState } from '../../utils/nodeState'

const SEEN = '2026-12-01T10:00:00.000Z'
const SNAPSHOT = '2026-12-01T10:05:00.000Z'
const node = (id: number, hostname: string, patch: Partial<NodeStats> = {}): NodeStats => ({
  id, hostname, status: 'online', state: 'online', is_master: false, cpu_percent: 10, memory_percent: 20, disk_percent: 30,
  uptime_seconds: 5, active_backups: 1, last_seen: SEEN, ...patch,
})
const master = node(1, 'master', { is_master: true, last_seen: null, cpu_percent: 50, active_backups: 0 })
const live = node(2, 'web-live', { cpu_percent: 30 })
const silent = node(3, 'db-silent', { state: 'unreachable', cpu_percent: 99, memory_percent: 99, disk_percent: 99, active_backups: 4 })
const old = node(4, 'backup-old', { status: 'stale', state: 'stale', cpu_percent: 95, active_backups: 2 })
const fresh = node(5, 'fresh', { status: 'offline', state: 'offline', cpu_percent: null, memory_percent: null, disk_percent: null, active_backups: null, last_seen: null })
const all = [master, live, silent, old, fresh]

describe('shownState, isCurrent and knownAt', () => {
  it('show the server\'s state, and only an online node\'s figures as current', () => {
    expect(all.map(n => shownState(n))).toEqual(['online', 'online', 'unreachable', 'stale', 'offline'])
    expect(all.map(n => isCurrent(n))).toEqual([true, true, false, false, false])
  })

  it('date figures that are not current by the last report; a node that never reported has none to date', () => {
    expect(all.map(n => knownAt(n, false, SNAPSHOT))).toEqual([null, null, SEEN, SEEN, null])
  })

  it('call the page\'s own master unreachable while the stream is down, its figures dated by the last snapshot', () => {
    expect(shownState(master, true)).toBe('unreachable')
    expect(isCurrent(master, true)).toBe(false)
    expect(knownAt(master, true, SNAPSHOT)).toBe(SNAPSHOT)
    // Another node keeps its last known state, but its figures are not current either.
    expect(shownState(live, true)).toBe('online')
    expect(isCurrent(live, true)).toBe(false)
    expect(knownAt(live, true, SNAPSHOT)).toBe(SEEN)
  })
})

describe('summarize', () => {
  it('counts each state, and averages and backups over the current nodes only', () => {
    expect(summarize(all)).toEqual({
      total: 5, byStatus: { online: 2, unreachable: 1, stale: 1, offline: 1, pending: 0 }, cpu: 40, memory: 20, disk: 30, activeBackups: 1,
    })
  })

  it('while the stream is down counts the master unreachable and has no live figure', () => {
    expect(summarize(all, true)).toEqual({
      total: 5, byStatus: { online: 1, unreachable: 2, stale: 1, offline: 1, pending: 0 }, cpu: null, memory: null, disk: null, activeBackups: null,
    })
  })
})

describe('the status filter and sort', () => {
  it('filter by state: unreachable finds the silent node whose seed status is still online', () => {
    expect(filterNodes(all, '', 'unreachable').map(n => n.id)).toEqual([3])
    expect(filterNodes(all, '', 'online').map(n => n.id)).toEqual([1, 2])
  })

  it('sort by status puts the nodes that need a look first: unreachable, stale, offline, then online', () => {
    expect(sortNodes(all, 'status').map(n => n.id)).toEqual([3, 4, 5, 1, 2])
  })
})
