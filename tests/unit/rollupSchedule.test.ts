import { describe, expect, it } from 'vitest'
import { createRollupSchedule } from '../../server/services/history/schedule'

const minute = (m: number, s = 0) => Date.UTC(2026, 0, 1, 12, m, s)

describe('the rollup schedule', () => {
  it('is due at start, then once after each finest-tier bucket closes while few samples arrive', () => {
    const schedule = createRollupSchedule({ widthSeconds: 60, busySamples: 1000 })
    expect(schedule.due(minute(0, 5))).toBe(true)
    schedule.begin(minute(0, 5))(true)
    schedule.arrived(3)
    expect(schedule.due(minute(0, 20))).toBe(false)
    schedule.arrived(3)
    expect(schedule.due(minute(0, 59))).toBe(false)
    expect(schedule.due(minute(1, 14))).toBe(true)
    schedule.begin(minute(1, 14))(true)
    expect(schedule.due(minute(1, 29))).toBe(false)
    expect(schedule.due(minute(2, 0))).toBe(true)
  })

  it('is due at every tick while samples arrive faster than busySamples, counting those that arrive during a run for the next', () => {
    const schedule = createRollupSchedule({ widthSeconds: 60, busySamples: 1000 })
    schedule.begin(minute(0))(true)
    schedule.arrived(999)
    expect(schedule.due(minute(0, 15))).toBe(false)
    schedule.arrived(1)
    expect(schedule.due(minute(0, 15))).toBe(true)
    const finished = schedule.begin(minute(0, 15))
    schedule.arrived(600)
    finished(true)
    expect(schedule.due(minute(0, 30))).toBe(false)
    schedule.arrived(400)
    expect(schedule.due(minute(0, 30))).toBe(true)
  })

  it('is due at the next tick when a sample arrives for a bucket closed before the last run', () => {
    const schedule = createRollupSchedule({ widthSeconds: 60, busySamples: 1000 })
    schedule.begin(minute(5, 2))(true)
    // Samples of the bucket still open, or of the one that was open at the run, are not late.
    schedule.arrived(2, minute(5, 1))
    expect(schedule.due(minute(5, 17))).toBe(false)
    schedule.arrived(1, minute(4, 59))
    expect(schedule.due(minute(5, 17))).toBe(true)
    schedule.begin(minute(5, 17))(true)
    expect(schedule.due(minute(5, 32))).toBe(false)
    // A spool from an hour ago.
    schedule.arrived(120, minute(-55))
    expect(schedule.due(minute(5, 47))).toBe(true)
  })

  it('stays due until a run catches up, and after a run that failed', () => {
    const schedule = createRollupSchedule({ widthSeconds: 60, busySamples: 1000 })
    schedule.begin(minute(0))(false)
    expect(schedule.due(minute(0, 15))).toBe(true)
    schedule.begin(minute(0, 15))(true)
    expect(schedule.due(minute(0, 30))).toBe(false)
    // A run that throws never calls its finish: due again at the next tick, in the same bucket too,
    // and a late sample it would have rolled still counts.
    schedule.begin(minute(1, 5))(true)
    schedule.arrived(1, minute(0, 30))
    schedule.begin(minute(1, 20))
    expect(schedule.due(minute(1, 35))).toBe(true)
    schedule.begin(minute(1, 35))(true)
    expect(schedule.due(minute(1, 50))).toBe(false)
  })

  it('without rollup tiers is due only until its first run', () => {
    const schedule = createRollupSchedule({ widthSeconds: null, busySamples: 1000 })
    expect(schedule.due(minute(0))).toBe(true)
    schedule.begin(minute(0))(true)
    schedule.arrived(10)
    expect(schedule.due(minute(5))).toBe(false)
  })
})
