import { describe, expect, it } from 'vitest'
import type { EventView } from '../../shared/contracts/seed002'
import { createEventToaster, isToastable, type ToastRequest } from '../../utils/eventToaster'
import { eventTitle, isMaintenanceEvent } from '../../utils/eventText'
import { compareEvents, eventFiltersQuery, eventHistoryQuery, matchesEventFilters, NO_FILTERS, parseEventFilters } from '../../utils/eventFilters'

let nextId = 1
function event(patch: Partial<EventView> = {}): EventView {
  return {
    id: nextId++, event_type: 'node_status_update', severity: 'warning', node_id: 7, cluster_id: 'prod', resource_type: 'node',
    message: 'Node web-1 is stale', data: { hostname: 'web-1', previous_status: 'online', status: 'stale' },
    timestamp: 1_700_000_000, created_at: '2023-11-14T22:13:20.000Z', acknowledged_at: null, acknowledged_by: null, incident_id: null, ...patch,
  }
}

function toaster() {
  let time = 0
  const shown: ToastRequest[] = []
  const t = createEventToaster({ show: r => shown.push(r), now: () => time })
  return { shown, push: t.push, advance: (ms: number) => { time += ms } }
}

describe('event headlines', () => {
  it('are headlines by type and, where it matters, by the new state', () => {
    expect(eventTitle(event())).toBe('Node stale')
    expect(eventTitle(event({ data: { status: 'online', previous_status: 'stale' } }))).toBe('Node back online')
    expect(eventTitle(event({ data: { status: 'online', previous_status: 'offline' } }))).toBe('Node online')
    expect(eventTitle(event({ event_type: 'backup_failed', data: {} }))).toBe('Backup failed')
    expect(eventTitle(event({ event_type: 'cluster_status_update', data: { status: 'degraded', not_online: ['a'] } }))).toBe('Cluster degraded')
    expect(eventTitle(event({ event_type: 'node_maintenance', data: { maintenance: false } }))).toBe('Maintenance ended')
    expect(eventTitle(event({ event_type: 'something_new' }))).toBe('Something new')
  })

  it('tell maintenance-muted events apart, but not the switch itself', () => {
    expect(isMaintenanceEvent(event({ data: { maintenance: true } }))).toBe(true)
    expect(isMaintenanceEvent(event({ event_type: 'node_maintenance', data: { maintenance: true } }))).toBe(false)
    expect(isMaintenanceEvent(event())).toBe(false)
  })
})

describe('event toasts', () => {
  it('shows one toast per event with the severity and an error that stays', () => {
    const t = toaster()
    t.push(event({ severity: 'error' }))
    expect(t.shown).toEqual([expect.objectContaining({ severity: 'error', title: 'Node stale', description: 'Node web-1 is stale', duration: Number.POSITIVE_INFINITY })])
    t.advance(2000)
    t.push(event({ severity: 'info' }))
    expect(t.shown[1]!.duration).toBe(5000)
  })

  it('does not toast acknowledgements, an incident\'s changes (its events toast), events of a node in maintenance or events a silence muted', () => {
    const t = toaster()
    t.push(event({ event_type: 'event_acknowledged' }))
    for (const type of ['incident_opened', 'incident_acknowledged', 'incident_resolved']) t.push(event({ event_type: type, severity: 'info' }))
    t.push(event({ data: { hostname: 'web-1', status: 'stale', maintenance: true } }))
    t.push(event({ data: { hostname: 'web-1', status: 'stale', silenced_by: { id: 3, reason: 'disk swap' } } }))
    expect(t.shown).toHaveLength(0)
    expect(isToastable(event())).toBe(true)
  })

  it('collapses a burst into one summary toast updated in place', () => {
    const t = toaster()
    for (let i = 0; i < 10; i++) {
      t.push(event({ severity: i === 5 ? 'error' : 'info' }))
      t.advance(50)
    }
    const individual = t.shown.filter(s => !s.id)
    const summaries = t.shown.filter(s => s.id)
    expect(individual).toHaveLength(3)
    expect(new Set(summaries.map(s => s.id)).size).toBe(1)
    expect(summaries.at(-1)).toMatchObject({ severity: 'error', title: '7 more events just arrived' })
    expect(summaries.at(-1)!.description).toContain('1 error')

    // After a quiet second, events are shown one by one again, and a new burst gets a new summary.
    t.advance(1500)
    t.push(event())
    expect(t.shown.at(-1)!.id).toBeUndefined()
  })
})

describe('event filters', () => {
  it('read from and write to the URL, defaults left out', () => {
    const f = parseEventFilters({ min_severity: 'warning', unacknowledged: '1', node_id: '12', event_type: 'backup_failed', junk: 'x' })
    expect(f).toEqual({ event_type: 'backup_failed', min_severity: 'warning', node_id: 12, cluster_id: '', unacknowledged: true, order: 'newest' })
    expect(eventHistoryQuery(f)).toEqual({ event_type: 'backup_failed', min_severity: 'warning', node_id: '12', acknowledged: 'false' })
    expect(parseEventFilters({ min_severity: 'loud', node_id: '0', order: 'random' })).toEqual(NO_FILTERS)
  })

  it('keep the severity order in the URL but not in the history query, which the server pages newest first', () => {
    const f = parseEventFilters({ order: 'severity', cluster_id: 'eu' })
    expect(f.order).toBe('severity')
    expect(eventFiltersQuery(f)).toEqual({ cluster_id: 'eu', order: 'severity' })
    expect(eventHistoryQuery(f)).toEqual({ cluster_id: 'eu' })
  })

  it('order newest first, or most severe first and newest first within a severity', () => {
    const list = [
      event({ id: 1, severity: 'error' }), event({ id: 2, severity: 'info' }), event({ id: 3, severity: 'warning' }),
      event({ id: 4, severity: 'error' }), event({ id: 5, severity: 'success' }),
    ]
    expect([...list].sort(compareEvents('newest')).map(e => e.id)).toEqual([5, 4, 3, 2, 1])
    expect([...list].sort(compareEvents('severity')).map(e => e.id)).toEqual([4, 1, 3, 5, 2])
  })

  it('match live events as the server filters the history', () => {
    const f = { ...NO_FILTERS, min_severity: 'warning' as const, unacknowledged: true }
    expect(matchesEventFilters(event({ severity: 'error' }), f)).toBe(true)
    expect(matchesEventFilters(event({ severity: 'success' }), f)).toBe(false)
    expect(matchesEventFilters(event({ acknowledged_at: '2023-11-14T22:14:00.000Z' }), f)).toBe(false)
    expect(matchesEventFilters(event(), { ...NO_FILTERS, cluster_id: 'staging' })).toBe(false)
  })
})
