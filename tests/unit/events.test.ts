import { describe, expect, it } from 'vitest'
import { agentEventBody, eventFilterQuery, type EventView } from '../../shared/contracts/seed002'
import { agentEvent, matchesFilter } from '../../server/services/events'
import type { NodeState } from '../../server/services/registry'

const event = (over: Partial<EventView> = {}): EventView => ({
  id: 1, event_type: 'backup_failed', severity: 'error', node_id: 3, cluster_id: 'eu', resource_type: 'backup', message: 'm', data: {},
  timestamp: 0, created_at: '', acknowledged_at: null, acknowledged_by: null, incident_id: null, ...over,
})
const filter = (query: Record<string, string | string[]>) => eventFilterQuery.parse(query)

describe('matchesFilter', () => {
  it('passes everything without filters', () => {
    expect(matchesFilter(filter({}), event())).toBe(true)
  })

  it('needs every given filter to hold, any of a repeated one', () => {
    expect(matchesFilter(filter({ node_id: ['3', '4'] }), event())).toBe(true)
    expect(matchesFilter(filter({ node_id: '4' }), event())).toBe(false)
    expect(matchesFilter(filter({ node_id: '3' }), event({ node_id: null }))).toBe(false)
    expect(matchesFilter(filter({ cluster_id: 'eu', event_type: ['backup_failed', 'x'] }), event())).toBe(true)
    expect(matchesFilter(filter({ cluster_id: 'eu', event_type: 'x' }), event())).toBe(false)
    expect(matchesFilter(filter({ resource_type: 'node' }), event())).toBe(false)
    expect(matchesFilter(filter({ severity: ['warning', 'error'] }), event())).toBe(true)
    expect(matchesFilter(filter({ severity: 'warning' }), event())).toBe(false)
  })

  it('treats min_severity as a priority: info < success < warning < error', () => {
    expect(matchesFilter(filter({ min_severity: 'warning' }), event({ severity: 'warning' }))).toBe(true)
    expect(matchesFilter(filter({ min_severity: 'warning' }), event({ severity: 'success' }))).toBe(false)
    expect(matchesFilter(filter({ min_severity: 'info' }), event({ severity: 'info' }))).toBe(true)
  })
})

describe('agentEvent', () => {
  const node = (over: Partial<NodeState> = {}): NodeState => ({
    id: 9, hostname: 'db-1', kind: 'agent', labels: { cluster: 'prod' }, createdAt: new Date(), lastSeen: null, agentTokenHash: null,
    latest: null, maintenance: false, watchedStatus: null, watchedReachable: null, live: false, ...over,
  })

  it('fills severity, resource and message by type, and keeps what the agent sent under data.agent', () => {
    const e = agentEvent(node(), agentEventBody.parse({ event_type: 'backup_completed', data: { job: 'nightly', hostname: 'spoofed' } }))
    expect(e).toEqual({
      type: 'backup_completed', severity: 'success', nodeId: 9, clusterId: 'prod', resourceType: 'backup', message: 'db-1: a backup completed',
      data: { hostname: 'db-1', source: 'agent', agent: { job: 'nightly', hostname: 'spoofed' } },
    })
  })

  it('does not let an agent set server fields: its maintenance: true stays under data.agent', () => {
    const e = agentEvent(node(), agentEventBody.parse({ event_type: 'error_report', data: { maintenance: true, source: 'server' } }))
    expect(e.data).toEqual({ hostname: 'db-1', source: 'agent', agent: { maintenance: true, source: 'server' } })
  })

  it('marks the event muted while the node is in maintenance', () => {
    const e = agentEvent(node({ maintenance: true, labels: {} }), agentEventBody.parse({ event_type: 'error_report', severity: 'warning', message: 'fan' }))
    expect(e).toMatchObject({ severity: 'warning', clusterId: null, message: 'fan', data: { maintenance: true } })
  })
})
