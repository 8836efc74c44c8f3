import { describe, expect, it } from 'vitest'
import { observation, pageQuery, reading } from '../../shared/contracts/seed003'

const event = (data: unknown) => ({
  id: 1, event_type: 'error_report', severity: 'error', node: null, cluster_id: null, resource_type: 'node', message: 'm', data, created_at: '2026-01-01T00:00:00Z',
})

describe('seed 003 contracts', () => {
  it('bounds what a member may send: nesting and size of event data, figures of a reading', () => {
    let deep: unknown = 1
    for (let i = 0; i < 20_000; i++) deep = { a: deep }
    expect(observation.safeParse(event(deep)).success).toBe(false)
    expect(observation.safeParse(event({ text: 'x'.repeat(70_000) })).success).toBe(false)
    expect(observation.safeParse(event({ a: { b: [1, 2] } })).success).toBe(true)
    const r = { id: 1, node: { id: 1, source: 'nodepulse:x/1', hostname: 'h' }, timestamp: '2026-01-01T00:00:00Z', cpu_percent: 5, memory_percent: null, disk_percent: null, uptime_seconds: 10, active_backups: 0 }
    expect(reading.safeParse(r).success).toBe(true)
    expect(reading.safeParse({ ...r, active_backups: 2 ** 40 }).success).toBe(false)
    expect(reading.safeParse({ ...r, cpu_percent: 1e300 }).success).toBe(false)
    expect(reading.safeParse({ ...r, node: { ...r.node, source: 'no colon' } }).success).toBe(false)
  })

  it('reads since and limit', () => {
    expect(pageQuery.parse({})).toEqual({ since: undefined, limit: 500 })
    expect(pageQuery.parse({ since: '42', limit: '1000' })).toEqual({ since: 42, limit: 1000 })
    expect(pageQuery.safeParse({ since: '01' }).success).toBe(false)
    expect(pageQuery.safeParse({ limit: '1001' }).success).toBe(false)
  })
})
