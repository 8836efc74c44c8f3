import { describe, expect, it } from 'vitest'
import { computeStatus } from '../../server/services/status'

const now = Date.UTC(2025, 5, 1, 12, 0, 0)
const ago = (ms: number) => new Date(now - ms)

describe('computeStatus', () => {
  it('calls this instance\'s own master online whatever its last sample', () => {
    expect(computeStatus({ live: true, lastSeen: null }, now, 300)).toBe('online')
    expect(computeStatus({ live: true, lastSeen: ago(86_400_000) }, now, 300)).toBe('online')
  })

  it('calls an agent that never reported offline', () => {
    expect(computeStatus({ live: false, lastSeen: null }, now, 300)).toBe('offline')
  })

  it('calls an agent online up to and including the stale threshold', () => {
    expect(computeStatus({ live: false, lastSeen: ago(0) }, now, 300)).toBe('online')
    expect(computeStatus({ live: false, lastSeen: ago(299_999) }, now, 300)).toBe('online')
    expect(computeStatus({ live: false, lastSeen: ago(300_000) }, now, 300)).toBe('online')
  })

  it('calls an agent stale one millisecond past the threshold', () => {
    expect(computeStatus({ live: false, lastSeen: ago(300_001) }, now, 300)).toBe('stale')
    expect(computeStatus({ live: false, lastSeen: ago(7 * 86_400_000) }, now, 300)).toBe('stale')
  })

  it('follows the configured threshold', () => {
    expect(computeStatus({ live: false, lastSeen: ago(5_000) }, now, 4)).toBe('stale')
    expect(computeStatus({ live: false, lastSeen: ago(5_000) }, now, 5)).toBe('online')
  })

  it('calls a report stamped slightly ahead of the server clock online', () => {
    expect(computeStatus({ live: false, lastSeen: ago(-2_000) }, now, 300)).toBe('online')
  })
})
