import { describe, expect, it } from 'vitest'
import { createSilenceBody, updateSilenceBody, type SilenceView } from '../../shared/contracts/silences'
import { silenceMatches, silenceState, typesOf } from '../../server/services/silences'
import { silenceCoversNode, silenceSeedFromQuery, silenceTimeText } from '../../utils/silences'

const none = { nodeIds: [] as number[], label: null as string | null, eventTypes: [] as string[] }
const down = { type: 'node_unreachable', nodeId: 7, clusterId: 'eu' }

describe('silenceMatches', () => {
  it('matches by node, by label and by type, each alone', () => {
    expect(silenceMatches({ ...none, nodeIds: [3, 7] }, down, {})).toBe(true)
    expect(silenceMatches({ ...none, nodeIds: [3] }, down, {})).toBe(false)
    expect(silenceMatches({ ...none, nodeIds: [3] }, { type: 'cluster_status_update', nodeId: null }, {})).toBe(false)
    expect(silenceMatches({ ...none, label: 'env=prod' }, down, { env: 'prod' })).toBe(true)
    expect(silenceMatches({ ...none, label: 'env=prod' }, down, { env: 'staging' })).toBe(false)
    expect(silenceMatches({ ...none, label: 'env=prod' }, down, {})).toBe(false)
    expect(silenceMatches({ ...none, eventTypes: ['node_unreachable'] }, down, {})).toBe(true)
    expect(silenceMatches({ ...none, eventTypes: ['backup_failed'] }, down, {})).toBe(false)
  })

  it('needs every matcher given to match', () => {
    const s = { nodeIds: [7], label: 'env=prod', eventTypes: ['node_unreachable'] }
    expect(silenceMatches(s, down, { env: 'prod' })).toBe(true)
    expect(silenceMatches(s, down, { env: 'dev' })).toBe(false)
    expect(silenceMatches(s, { ...down, nodeId: 8 }, { env: 'prod' })).toBe(false)
    expect(silenceMatches(s, { ...down, type: 'backup_failed' }, { env: 'prod' })).toBe(false)
  })

  it('takes a label value with "=" in it whole, and matches cluster=… on a node-less event by its cluster', () => {
    expect(silenceMatches({ ...none, label: 'note=a=b' }, down, { note: 'a=b' })).toBe(true)
    expect(silenceMatches({ ...none, label: 'note=a=b' }, down, { note: 'a' })).toBe(false)
    expect(silenceMatches({ ...none, label: 'cluster=eu' }, { type: 'cluster_status_update', nodeId: null, clusterId: 'eu' }, {})).toBe(true)
    expect(silenceMatches({ ...none, label: 'cluster=us' }, { type: 'cluster_status_update', nodeId: null, clusterId: 'eu' }, {})).toBe(false)
  })

  it('counts an incident\'s own events as the types of its kind', () => {
    const opened = { type: 'incident_opened', nodeId: 7, data: { incident_kind: 'node' } }
    expect(typesOf(opened)).toContain('node_unreachable')
    expect(silenceMatches({ ...none, eventTypes: ['node_status_update'] }, opened, {})).toBe(true)
    expect(silenceMatches({ ...none, eventTypes: ['threshold_exceeded'] }, opened, {})).toBe(false)
    expect(silenceMatches({ ...none, eventTypes: ['threshold_exceeded'] }, { ...opened, data: { incident_kind: 'threshold' } }, {})).toBe(true)
    expect(typesOf({ type: 'backup_failed', data: { incident_kind: 'bogus' } })).toEqual(['backup_failed'])
  })
})

describe('silenceState', () => {
  const at = (iso: string) => new Date(iso)
  const s = { startsAt: at('2026-01-01T10:00:00Z'), endsAt: at('2026-01-01T12:00:00Z'), endedAt: null }
  it('is scheduled before its start, active until its end (exclusive), expired after, or after an early end', () => {
    expect(silenceState(s, Date.parse('2026-01-01T09:59:59Z'))).toBe('scheduled')
    expect(silenceState(s, Date.parse('2026-01-01T10:00:00Z'))).toBe('active')
    expect(silenceState(s, Date.parse('2026-01-01T11:59:59Z'))).toBe('active')
    expect(silenceState(s, Date.parse('2026-01-01T12:00:00Z'))).toBe('expired')
    expect(silenceState({ ...s, endedAt: at('2026-01-01T11:00:00Z') }, Date.parse('2026-01-01T11:00:00Z'))).toBe('expired')
  })
})

describe('createSilenceBody', () => {
  const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString()
  const issues = (body: unknown) => {
    const r = createSilenceBody.safeParse(body)
    return r.success ? [] : r.error.issues.map(i => `${i.path.join('.')}: ${i.message}`)
  }

  it('takes one matcher, an end and a reason; starts now by default', () => {
    const r = createSilenceBody.parse({ node_ids: [1], ends_at: inAnHour(), reason: ' kernel update ' })
    expect(r).toMatchObject({ node_ids: [1], label: null, event_types: [], reason: 'kernel update' })
    expect(r.starts_at).toBeUndefined()
  })

  it('names the field of each mistake', () => {
    expect(issues({ ends_at: inAnHour(), reason: 'x' })).toEqual(['node_ids: give at least one matcher: node_ids, label or event_types'])
    expect(issues({ node_ids: [1], reason: 'x' })[0]).toMatch(/^ends_at: /)
    expect(issues({ node_ids: [1], ends_at: new Date(Date.now() - 1000).toISOString(), reason: 'x' })).toEqual(['ends_at: must be after starts_at and in the future'])
    expect(issues({ node_ids: [1], starts_at: new Date(Date.now() + 7_200_000).toISOString(), ends_at: inAnHour(), reason: 'x' }))
      .toEqual(['ends_at: must be after starts_at and in the future'])
    expect(issues({ node_ids: [1], ends_at: '9999-01-01T00:00:00Z', reason: 'x' })).toEqual(['ends_at: must be at most 366 days after the start'])
    expect(issues({ node_ids: [1], starts_at: '2001-01-01T00:00:00Z', ends_at: inAnHour(), reason: 'x' })).toEqual(['starts_at: must not be in the past'])
    expect(issues({ node_ids: [1], ends_at: 'tomorrow', reason: 'x' })[0]).toMatch(/^ends_at: must be an ISO-8601/)
    expect(issues({ node_ids: [1], starts_at: 'soon', ends_at: inAnHour(), reason: 'x' })[0]).toMatch(/^starts_at: must be an ISO-8601/)
    expect(issues({ node_ids: [1], ends_at: inAnHour(), reason: '  ' })).toEqual(['reason: must not be empty (say why)'])
    expect(issues({ node_ids: [1], ends_at: inAnHour(), reason: 'x'.repeat(501) })).toEqual(['reason: must be at most 500 characters'])
    expect(issues({ node_ids: [0], ends_at: inAnHour(), reason: 'x' })).toEqual(['node_ids.0: must be node ids'])
    expect(issues({ label: 'env', ends_at: inAnHour(), reason: 'x' })[0]).toMatch(/^label: must be name=value/)
    expect(issues({ label: 'bad name=x', ends_at: inAnHour(), reason: 'x' })[0]).toMatch(/^label: must be name=value/)
    expect(issues({ event_types: ['silence_started'], ends_at: inAnHour(), reason: 'x' })).toEqual(['event_types.0: must be event types NodePulse logs (not silence_*)'])
    expect(issues({ event_types: ['node_unreachable'], ends_at: inAnHour(), reason: 'x', extra: 1 })[0]).toMatch(/extra/)
  })

  it('lets an update change the end or the reason, not nothing', () => {
    expect(updateSilenceBody.safeParse({}).success).toBe(false)
    expect(updateSilenceBody.parse({ reason: 'longer' })).toEqual({ reason: 'longer' })
  })
})

describe('the pages\' silence helpers', () => {
  const view = (over: Partial<SilenceView>): SilenceView => ({
    id: 1, node_ids: [], label: null, event_types: [], starts_at: '2026-01-01T10:00:00Z', ends_at: '2026-01-01T12:00:00Z', ended_at: null,
    reason: 'r', created_by: 'admin', created_at: '2026-01-01T09:00:00Z', state: 'active', ...over,
  })

  it('marks a node a silence names by id or by a label it carries, not one it only names by event type', () => {
    expect(silenceCoversNode(view({ node_ids: [7] }), { id: 7, labels: {} })).toBe(true)
    expect(silenceCoversNode(view({ node_ids: [7] }), { id: 8, labels: {} })).toBe(false)
    expect(silenceCoversNode(view({ label: 'rack=r4' }), { id: 8, labels: { rack: 'r4' } })).toBe(true)
    expect(silenceCoversNode(view({ node_ids: [8], label: 'rack=r4' }), { id: 8, labels: { rack: 'r5' } })).toBe(false)
    expect(silenceCoversNode(view({ event_types: ['backup_failed'] }), { id: 8, labels: {} })).toBe(false)
  })

  it('reads a filled-in form from the URL, keeping only known event types, and says where a silence\'s time stands', () => {
    expect(silenceSeedFromQuery({ view: 'silences' })).toBeNull()
    expect(silenceSeedFromQuery({ silence_node: '7', silence_types: 'threshold_exceeded,bogus', silence_reason: 'Incident #3' }))
      .toEqual({ nodeIds: [7], label: '', eventTypes: ['threshold_exceeded'], reason: 'Incident #3' })
    expect(silenceSeedFromQuery({ silence_node: '-1', silence_label: 'cluster=eu' })).toMatchObject({ nodeIds: [], label: 'cluster=eu' })
    const now = Date.parse('2026-01-01T11:00:00Z')
    expect(silenceTimeText(view({}), now)).toBe('ends in 1 h')
    expect(silenceTimeText(view({ state: 'scheduled', starts_at: '2026-01-01T11:30:00Z' }), now)).toBe('starts in 30 min, lasts 30 min')
  })
})
