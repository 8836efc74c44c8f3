import { describe, expect, it } from 'vitest'
import { computeReachable, computeState, computeStatus, isOverdue } from '../../server/services/status'

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

describe('computeReachable', () => {
  it('calls a node that reported within the threshold reachable, one silent past it not, one that never reported unknown', () => {
    expect(computeReachable({ live: false, lastSeen: ago(60_000) }, now, 60)).toBe(true)
    expect(computeReachable({ live: false, lastSeen: ago(60_001) }, now, 60)).toBe(false)
    expect(computeReachable({ live: false, lastSeen: null }, now, 60)).toBeNull()
    expect(computeReachable({ live: true, lastSeen: ago(86_400_000) }, now, 60)).toBe(true)
  })
})

describe('computeState', () => {
  const t = { staleAfterSeconds: 300, unreachableAfterSeconds: 60 }

  it('puts unreachable between online and stale, as the watcher\'s events do', () => {
    expect(computeState({ live: false, lastSeen: ago(59_000) }, now, t)).toBe('online')
    expect(computeState({ live: false, lastSeen: ago(61_000) }, now, t)).toBe('unreachable')
    expect(computeState({ live: false, lastSeen: ago(299_000) }, now, t)).toBe('unreachable')
    expect(computeState({ live: false, lastSeen: ago(301_000) }, now, t)).toBe('stale')
    expect(computeState({ live: false, lastSeen: null }, now, t)).toBe('offline')
  })

  it('keeps this instance\'s master online however long ago it last sampled', () => {
    expect(computeState({ live: true, lastSeen: ago(600_000) }, now, t)).toBe('online')
  })

  it('calls a node stale, not unreachable, when the stale threshold is the shorter one', () => {
    expect(computeState({ live: false, lastSeen: ago(10_000) }, now, { staleAfterSeconds: 5, unreachableAfterSeconds: 3600 })).toBe('stale')
    expect(computeState({ live: false, lastSeen: ago(4_000) }, now, { staleAfterSeconds: 5, unreachableAfterSeconds: 3600 })).toBe('online')
  })

  it('calls a node added but not reported yet pending within NODEPULSE_PENDING_GRACE, then offline (overdue)', () => {
    const grace = { ...t, pendingGraceSeconds: 600 }
    expect(computeState({ live: false, lastSeen: null, createdAt: ago(599_000) }, now, grace)).toBe('pending')
    expect(isOverdue({ live: false, lastSeen: null, createdAt: ago(599_000) }, now, 600)).toBe(false)
    expect(computeState({ live: false, lastSeen: null, createdAt: ago(601_000) }, now, grace)).toBe('offline')
    expect(isOverdue({ live: false, lastSeen: null, createdAt: ago(601_000) }, now, 600)).toBe(true)
    // Once it has reported, the grace no longer matters; without a grace nothing is pending or overdue.
    expect(computeState({ live: false, lastSeen: ago(1_000), createdAt: ago(10_000) }, now, grace)).toBe('online')
    expect(computeState({ live: false, lastSeen: null, createdAt: ago(1_000) }, now, t)).toBe('offline')
    expect(isOverdue({ live: false, lastSeen: null, createdAt: ago(601_000) }, now, 0)).toBe(false)
  })
})
