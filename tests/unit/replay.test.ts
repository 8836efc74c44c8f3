import { afterEach, describe, expect, it, vi } from 'vitest'
import { eventId, parseEventId, resumePoint } from '../../server/services/streams/replay'

const UNKNOWN = Number.MAX_SAFE_INTEGER

afterEach(() => {
  vi.useRealTimers()
})

describe('event ids', () => {
  it('are <unix-seconds>-<position>', () => {
    vi.useFakeTimers({ now: new Date('2026-01-02T03:04:05.678Z') })
    expect(eventId(42)).toBe('1767323045-42')
  })

  it('parse back to their position, with surrounding spaces', () => {
    expect(parseEventId(eventId(7))).toBe(7)
    expect(parseEventId(' 1767323045-9 ')).toBe(9)
  })

  it('parse to undefined when they are not ours', () => {
    for (const id of ['', '42', 'abc', '1-', '-5', '1-2-3', '1.5-2', 'x-2']) expect(parseEventId(id), id).toBeUndefined()
  })
})

describe('resumePoint', () => {
  it('is a fresh start without an id or a since', () => {
    expect(resumePoint(undefined, {})).toEqual({ since: undefined })
  })

  it('takes the Last-Event-ID header before ?lastEventId=', () => {
    expect(resumePoint('1-5', { lastEventId: '1-9' })).toEqual({ position: 5 })
    expect(resumePoint(undefined, { lastEventId: '1-9' })).toEqual({ position: 9 })
  })

  it('treats an empty header as a fresh start, whatever the query says', () => {
    expect(resumePoint('', { lastEventId: '1-9' })).toEqual({ since: undefined })
    expect(resumePoint(undefined, { lastEventId: '' })).toEqual({ since: undefined })
  })

  it('resumes from ?since= only when no id is given', () => {
    const since = new Date('2026-01-01T00:00:00Z')
    expect(resumePoint(undefined, { since })).toEqual({ since })
    expect(resumePoint('1-3', { since })).toEqual({ position: 3 })
  })

  it('counts an id that is not ours as unknown, so the client is told to reset', () => {
    for (const id of ['abc', '1-', 'x-2', '42']) expect(resumePoint(id, {}).position, id).toBe(UNKNOWN)
  })

  it('takes a bare position only where the stream allows it (the event stream), up to 15 digits', () => {
    expect(resumePoint('42', {}, { barePositions: true })).toEqual({ position: 42 })
    expect(resumePoint(undefined, { lastEventId: '42' }, { barePositions: true })).toEqual({ position: 42 })
    expect(resumePoint('1-42', {}, { barePositions: true })).toEqual({ position: 42 })
    expect(resumePoint('1234567890123456', {}, { barePositions: true }).position).toBe(UNKNOWN)
    expect(resumePoint(' 42', {}, { barePositions: true }).position).toBe(UNKNOWN)
  })
})
