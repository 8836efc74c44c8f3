/**
 * Last-Event-ID replay on seed 001's channels: after a forced disconnect and after a server
 * restart, a client resuming from the last id it saw gets every events/reports message it missed
 * exactly once, in position order, then live ones; a position it cannot be given gets `reset`.
 *
 * Its own server: event-log rows batched every 1.5 s (so a batch is still waiting when a client comes back),
 * a replay limit of 30, a master that samples itself only at start-up, and a restart that keeps
 * its database. A reference client that never disconnects tells what "every event" is.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { EventsMessage, ReportMessage } from '../../shared/contracts/seed001'
import { dataOf, ID, positionOf, positions, repeated, stamp } from './support/channels'
import { startDedicated, sleep, until, type CreatedAgent, type Dedicated } from './support/dedicated'
import { openStream, type SseMessage, type SseStream } from './sse'

const LOGS_INTERVAL_MS = 1500
const REPLAY_LIMIT = 30

let d: Dedicated
beforeAll(async () => {
  d = await startDedicated('replay', {
    NODEPULSE_STREAM_LOGS_INTERVAL: String(LOGS_INTERVAL_MS / 1000),
    NODEPULSE_REPLAY_LIMIT: String(REPLAY_LIMIT),
    NODEPULSE_SAMPLE_INTERVAL: '3600',
  })
})
afterAll(() => d?.stop())

let open: SseStream[] = []
afterEach(() => {
  open.forEach(s => s.close())
  open = []
})
async function stream(path: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const s = await openStream(path, { bearer: d.bearer }, headers, d.baseURL)
  expect(s.status, path).toBe(200)
  open.push(s)
  return s
}

const named = (event: string) => (m: SseMessage) => m.event === event
/** The id an EventSource would send back: that of the last message it received with one. */
const lastId = (s: SseStream) => s.messages.filter(m => m.id !== undefined).at(-1)!.id!
const reportsOf = (s: SseStream, agent?: CreatedAgent) => s.messages.filter(named('reports')).map(m => dataOf<ReportMessage>(m)).filter(r => !agent || r.node_id === agent.id)
const logRows = (s: SseStream) => s.messages.filter(named('events')).flatMap(m => dataOf<EventsMessage>(m).logs)

/**
 * What a resumed stream got before live ones: the replayed events are those at or below `upTo`
 * (the server's position just before the client resumed, from `serverPosition()`); they must come
 * first, in ascending order, each once. (A resumed stream's `connected` id is where it resumes
 * from, so a client that drops before the replay resumes from there again.)
 */
function splitReplay(s: SseStream, upTo: number) {
  const all = positions(s.messages)
  const replayed = all.filter(p => p <= upTo)
  return { upTo, all, replayed, replayedFirst: all.slice(0, replayed.length) }
}

/** The newest position the server has published: a fresh stream's greeting id. */
async function serverPosition(): Promise<number> {
  const s = await stream('/stream/reports')
  const position = positionOf(await s.next(named('connected')))
  s.close()
  return position
}

async function settle(ms = LOGS_INTERVAL_MS + 500) {
  await sleep(ms)
}

describe('Last-Event-ID replay after a forced disconnect', () => {
  it('reports: every missed report once, in order, then live ones (Last-Event-ID header and ?lastEventId=)', async () => {
    const agent = await d.createAgent()
    for (const how of ['header', 'query'] as const) {
      const reference = await stream('/stream/reports')
      const first = await stream('/stream/reports')
      await reference.next(named('connected'))
      await first.next(named('connected'))
      await d.report(agent, { cpu_percent: 1, disk_percent: 1 })
      const r1 = await first.next(named('reports'), 3000)
      const resumeFrom = lastId(first)
      expect(resumeFrom).toBe(r1.id)
      first.close()
      await until('the first client gone', async () => (await d.hubStats()).subscriptions.reports === 1, 3000)

      const base = Date.now()
      await d.report(agent, { cpu_percent: 2, disk_percent: 2 })
      await d.report(agent, { samples: [stamp(base, 2000, { cpu_percent: 3, disk_percent: 3 }), stamp(base, 1000, { cpu_percent: 4, disk_percent: 4 })] })
      await d.report(agent, { cpu_percent: 5, disk_percent: 5 })
      await until('the reference saw r1..r5', () => reportsOf(reference, agent).length === 5, 3000)

      const upTo = await serverPosition()
      const resumed = how === 'header'
        ? await stream('/stream/reports', { 'last-event-id': resumeFrom })
        : await stream(`/stream/reports?lastEventId=${encodeURIComponent(resumeFrom)}`)
      // Greeted with where it resumes from, not the newest position (issue 14).
      expect(positionOf(await resumed.next(named('connected')))).toBe(positionOf(r1))
      await d.report(agent, { cpu_percent: 6, disk_percent: 6 })
      await until('the reference saw r6', () => reportsOf(reference, agent).length === 6, 3000)
      await until('the resumed client saw r6', () => reportsOf(resumed, agent).some(r => r.cpu_percent === 6), 3000)
      await sleep(300)

      // Everything the reference got after r1, live ones included (the master's start-up sample
      // too, should it have been stored only now).
      const ref = reportsOf(reference)
      const r1Id = dataOf<ReportMessage>(r1).id
      const expected = ref.slice(ref.findIndex(r => r.id === r1Id) + 1)
      const got = reportsOf(resumed)
      expect(got.filter(r => r.node_id === agent.id).map(r => r.cpu_percent), how).toEqual([2, 3, 4, 5, 6])
      expect(got, how).toEqual(expected)
      const { replayed, replayedFirst } = splitReplay(resumed, upTo)
      expect(replayed, `${how}: replayed r2..r5 before anything live`).toEqual(expected.filter(r => r.id <= upTo).map(r => r.id))
      expect(replayed.length).toBeGreaterThanOrEqual(4)
      expect(replayedFirst).toEqual(replayed)
      // Replayed and live messages carry the position a live client got for that report.
      expect(resumed.messages.filter(named('reports')).map(m => positionOf(m))).toEqual(expected.map(r => r.id))
      reference.close()
      resumed.close()
      await until('no clients', async () => (await d.hubStats()).total_clients === 0, 3000)
    }
  })

  it('all: reports and event-log rows missed during a disconnect arrive once each when the client comes straight back', async () => {
    const agent = await d.createAgent()
    await settle()
    const reference = await stream('/stream/all')
    const first = await stream('/stream/all')
    await reference.next(named('connected'))
    await first.next(named('connected'))

    const a = await d.createAgent()
    await d.report(agent, { cpu_percent: 11, disk_percent: 1 })
    await until('the first client saw a\'s registration and the report', () => logRows(first).some(l => l.node_id === a.id) && reportsOf(first, agent).length === 1, 4000)
    const resumeFrom = lastId(first)
    first.close()

    // Missed while away: reports, and a node registered (its log row waits for the next batch).
    await d.report(agent, { cpu_percent: 12, disk_percent: 1 })
    const b = await d.createAgent()
    await d.report(agent, { cpu_percent: 13, disk_percent: 1 })

    const upTo = await serverPosition()
    const resumed = await stream('/stream/all', { 'last-event-id': resumeFrom })
    await resumed.next(named('connected'))
    // Live after the resume.
    await d.report(agent, { cpu_percent: 14, disk_percent: 1 })
    const c = await d.createAgent()
    await until('the reference saw c\'s registration', () => logRows(reference).some(l => l.node_id === c.id), 4000)
    await until('the resumed client saw c\'s registration', () => logRows(resumed).some(l => l.node_id === c.id), 4000)
    await settle()

    // What each client got as `event id [positions]`, for the failure message.
    const show = (x: SseStream) => x.messages.filter(m => m.event).map(m => `${m.event} ${m.id}${positions([m]).length ? ` [${positions([m])}]` : ''}`).join(' | ')
    const trace = `\nreference: ${show(reference)}\nfirst:     ${show(first)}\nresumed from ${resumeFrom}: ${show(resumed)}\n`
    const ref = positions(reference.messages)
    const seen = [...positions(first.messages), ...positions(resumed.messages)]
    expect(repeated(ref), 'the reference has each event once').toEqual([])
    expect.soft(repeated(seen), `positions delivered twice across the reconnect${trace}`).toEqual([])
    expect.soft([...new Set(seen)].sort((x, y) => x - y), 'every event exactly once across the reconnect').toEqual([...ref].sort((x, y) => x - y))
    const { replayed, replayedFirst } = splitReplay(resumed, upTo)
    expect.soft(replayedFirst, `replayed events come first, once each${trace}`).toEqual(replayed)
    expect(replayed).toEqual([...replayed].sort((x, y) => x - y))
    expect(logRows(resumed).filter(l => l.node_id === b.id).map(l => l.event_type), 'b\'s registration (missed while away) exactly once').toEqual(['node_registered'])
  })

  it('all: a log row still waiting for its batch when the client left is not lost when it comes back after the retry delay', async () => {
    const agent = await d.createAgent()
    await settle()
    const reference = await stream('/stream/all')
    const first = await stream('/stream/all')
    await reference.next(named('connected'))
    await first.next(named('connected'))

    // A node registers (its log row waits up to 1.5 s for the batch); a report right after it goes out at once.
    const b = await d.createAgent()
    await d.report(agent, { cpu_percent: 21, disk_percent: 1 })
    await until('the report', () => reportsOf(first, agent).length === 1, 3000)
    const sawRowLive = logRows(first).some(l => l.node_id === b.id)
    const resumeFrom = lastId(first)
    first.close()
    // An EventSource comes back after `retry: 3000`; what matters is that the batch went out meanwhile,
    // which the reference, still connected, shows.
    await until('the batch went out (the reference saw b\'s registration)', () => logRows(reference).some(l => l.node_id === b.id), LOGS_INTERVAL_MS + 4000)
    const resumed = await stream('/stream/all', { 'last-event-id': resumeFrom })
    await resumed.next(named('connected'))
    await settle()

    const rows = [...logRows(first), ...logRows(resumed)].filter(l => l.node_id === b.id)
    // Waiting log rows are published before a later report, so the client saw the row before the report it resumes from.
    expect(sawRowLive, 'the waiting row went out before the report').toBe(true)
    expect(rows.map(l => l.event_type), `b's node_registered row (position ${logRows(reference).find(l => l.node_id === b.id)?.id}) after resuming from ${resumeFrom}`).toEqual(['node_registered'])
  })
})

describe('Last-Event-ID replay while a log row waits for its batch', () => {
  it('events: a client resuming while a row is pending (no report in between) gets that row once, not in its replay and again in the batch', async () => {
    await settle()
    const reference = await stream('/stream/events')
    const first = await stream('/stream/events')
    await reference.next(named('connected'))
    await first.next(named('connected'))
    const x = await d.createAgent()
    await until('x\'s registration in a batch', () => logRows(first).some(l => l.node_id === x.id), 4000)
    // A batch just went out: the next one is a whole interval away.
    const batchAt = Date.now()
    const resumeFrom = lastId(first)
    first.close()

    const y = await d.createAgent()
    const resumed = await stream('/stream/events', { 'last-event-id': resumeFrom })
    await resumed.next(named('connected'))
    const resumedAfterMs = Date.now() - batchAt
    await until('the reference saw y\'s registration', () => logRows(reference).some(l => l.node_id === y.id), 4000)
    await settle()

    expect(resumedAfterMs, 'the client resumed before the batch holding y\'s row was due').toBeLessThan(LOGS_INTERVAL_MS - 200)
    const trace = resumed.messages.filter(m => m.event).map(m => `${m.event} ${m.id} [${positions([m])}]`).join(' | ')
    expect(logRows(resumed).filter(l => l.node_id === y.id).map(l => l.event_type), `resumed from ${resumeFrom}: ${trace}`).toEqual(['node_registered'])
    expect(repeated(positions(resumed.messages))).toEqual([])
    expect(logRows(reference).filter(l => l.node_id === y.id)).toHaveLength(1)
  })
})

describe('positions that cannot be replayed get reset', () => {
  const resetOf = async (path: string, headers: Record<string, string> = {}) => {
    const s = await stream(path, headers)
    const connected = await s.next(named('connected'))
    const next = await s.next(m => m.event !== undefined && m.event !== 'heartbeat', 3000)
    expect(next.event, `${path} ${JSON.stringify(headers)}`).toBe('reset')
    const data = dataOf<{ reason: string, message: string, timestamp: number }>(next)
    expect(Object.keys(data).sort()).toEqual(['message', 'reason', 'timestamp'])
    expect(data.message.length).toBeGreaterThan(0)
    // The reset's id is a fresh position to resume from: the greeting's when the resume position was
    // refused at once, the server's newest (past the one resumed from) when the client was too far behind.
    if (data.reason === 'too_far_behind') expect(positionOf(next)).toBeGreaterThan(positionOf(connected))
    else expect(positionOf(next)).toBe(positionOf(connected))
    return { s, reason: data.reason, id: next.id! }
  }

  it('garbage, unknown (future) positions and ids that are not ours answer reset, on the header and the query', async () => {
    const current = positionOf(await (await stream('/stream/reports')).next(named('connected')))
    for (const [path, headers] of [
      ['/stream/reports', { 'last-event-id': 'garbage' }],
      ['/stream/events', { 'last-event-id': `${Math.floor(Date.now() / 1000)}-${current + 100_000}` }],
      ['/stream/all?lastEventId=not-an-id', {}],
      [`/stream/reports?lastEventId=1-${current + 100_000}`, {}],
      ['/stream/reports', { 'last-event-id': '12-abc' }],
    ] as const) {
      const { reason } = await resetOf(path, headers)
      expect(reason).toBe('unknown_position')
    }
  })

  it('a garbage ?lastEventId= of any length is reset like the same Last-Event-ID header, not refused', async () => {
    const long = 'x'.repeat(150)
    expect((await resetOf('/stream/reports', { 'last-event-id': long })).reason).toBe('unknown_position')
    const s = await openStream(`/stream/reports?lastEventId=${long}`, { bearer: d.bearer }, {}, d.baseURL)
    open.push(s)
    // An EventSource that gets 400 gives up for good; a reset lets it carry on.
    expect(s.status, '?lastEventId= of 150 characters').toBe(200)
    expect((await s.next(m => m.event !== undefined, 3000)).event).toBe('connected')
    expect((await s.next(m => m.event !== undefined && m.event !== 'heartbeat', 3000)).event).toBe('reset')
  })

  it(`a client more than NODEPULSE_REPLAY_LIMIT (${REPLAY_LIMIT}) events behind gets reset, no partial replay, then live events`, async () => {
    const agent = await d.createAgent()
    const first = await stream('/stream/reports')
    await first.next(named('connected'))
    await d.report(agent, { cpu_percent: 1, disk_percent: 1 })
    await first.next(named('reports'), 3000)
    const resumeFrom = lastId(first)
    first.close()
    const base = Date.now()
    await d.report(agent, { samples: Array.from({ length: REPLAY_LIMIT + 1 }, (_, i) => stamp(base, 60_000 - i * 100, { cpu_percent: i, disk_percent: 1 })) })

    const { s, reason, id } = await resetOf('/stream/reports', { 'last-event-id': resumeFrom })
    expect(reason).toBe('too_far_behind')
    await d.report(agent, { cpu_percent: 99, disk_percent: 1 })
    const live = await s.next(named('reports'), 3000)
    expect(dataOf<ReportMessage>(live).cpu_percent).toBe(99)
    expect(positionOf(live)).toBeGreaterThan(positionOf({ id } as SseMessage))
    expect(s.messages.filter(named('reports')).length, 'nothing replayed').toBe(1)

    // Exactly at the limit is still replayed.
    const second = await stream('/stream/reports')
    await second.next(named('connected'))
    await d.report(agent, { cpu_percent: 1, disk_percent: 1 })
    await second.next(named('reports'), 3000)
    const from = lastId(second)
    second.close()
    const base2 = Date.now()
    await d.report(agent, { samples: Array.from({ length: REPLAY_LIMIT }, (_, i) => stamp(base2, 30_000 - i * 100, { cpu_percent: i, disk_percent: 2 })) })
    const resumed = await stream('/stream/reports', { 'last-event-id': from })
    await until(`${REPLAY_LIMIT} replayed`, () => reportsOf(resumed).length === REPLAY_LIMIT, 3000)
    expect(reportsOf(resumed).map(r => r.cpu_percent)).toEqual(Array.from({ length: REPLAY_LIMIT }, (_, i) => i))
    expect(resumed.messages.some(named('reset'))).toBe(false)
  })
})

describe('Last-Event-ID replay after a server restart', () => {
  it('reports sent while the client was away and the server went down and up arrive once, in order, then live ones', async () => {
    const agent = await d.createAgent()
    const first = await stream('/stream/reports')
    await first.next(named('connected'))
    await d.report(agent, { cpu_percent: 1, disk_percent: 1 })
    await until('r1', () => reportsOf(first, agent).length === 1, 3000)
    const resumeFrom = lastId(first)
    first.close()

    const base = Date.now()
    const beforeStop = [
      { cpu_percent: 2, disk_percent: 2, timestamp: new Date(base - 5000).toISOString() },
      { cpu_percent: 3, disk_percent: 3, timestamp: new Date(base - 4000).toISOString() },
      { cpu_percent: 4, disk_percent: 4, timestamp: new Date(base - 3000).toISOString() },
    ]
    await d.report(agent, beforeStop[0])
    await d.report(agent, { samples: beforeStop.slice(1) })
    const oldPid = d.srv.pid
    await d.srv.restart()
    expect(d.srv.pid).not.toBe(oldPid)

    // The agent's token and the admin token survive the restart with the database.
    await d.report(agent, { cpu_percent: 5, disk_percent: 5, timestamp: new Date(base - 2000).toISOString() })
    await d.report(agent, { cpu_percent: 6, disk_percent: 6, timestamp: new Date(base - 1000).toISOString() })
    const upTo = await serverPosition()
    const resumed = await stream('/stream/reports', { 'last-event-id': resumeFrom })
    await resumed.next(named('connected'))
    await d.report(agent, { cpu_percent: 7, disk_percent: 7 })
    await until('r7 live', () => reportsOf(resumed, agent).some(r => r.cpu_percent === 7), 3000)
    // The restarted master samples itself once at start-up: missed too, so replayed (or live if it came late).
    await until('the master\'s start-up sample', () => reportsOf(resumed).some(r => r.node_id !== agent.id), 5000)
    await sleep(500)

    const got = reportsOf(resumed)
    expect(got.filter(r => r.node_id === agent.id).map(r => r.cpu_percent)).toEqual([2, 3, 4, 5, 6, 7])
    expect(got.filter(r => r.node_id === agent.id).slice(0, 5).map(r => r.sampled_at)).toEqual([...beforeStop.map(s => s.timestamp), new Date(base - 2000).toISOString(), new Date(base - 1000).toISOString()])
    expect(got.filter(r => r.node_id !== agent.id).length, 'the master sampled once after the restart').toBe(1)
    const ids = got.map(r => r.id)
    expect(repeated(ids)).toEqual([])
    expect(ids, 'replay and live in position order').toEqual([...ids].sort((x, y) => x - y))
    expect(Math.min(...ids)).toBeGreaterThan(Number(ID.exec(resumeFrom)![2]))
    const { replayed, replayedFirst } = splitReplay(resumed, upTo)
    expect(replayedFirst).toEqual(replayed)
    expect(replayed.length).toBeGreaterThanOrEqual(5)
  })

  it('event-log rows (on /stream/all) written while the client was away and the server went down and up arrive once, in order, then live ones', async () => {
    const first = await stream('/stream/all')
    await first.next(named('connected'))
    const a = await d.createAgent()
    await until('a\'s registration', () => logRows(first).some(l => l.node_id === a.id), LOGS_INTERVAL_MS + 3000)
    const resumeFrom = lastId(first)
    first.close()

    const b = await d.createAgent()
    const c = await d.createAgent()
    await d.srv.restart()
    const e = await d.createAgent()
    const resumed = await stream('/stream/all', { 'last-event-id': resumeFrom })
    await resumed.next(named('connected'))
    const f = await d.createAgent()
    const ours = new Set([a.id, b.id, c.id, e.id, f.id])
    await until('f\'s registration live', () => logRows(resumed).some(l => l.node_id === f.id), LOGS_INTERVAL_MS + 3000)
    await settle()

    const rows = logRows(resumed).filter(l => l.node_id !== null && ours.has(l.node_id) && l.event_type === 'node_registered')
    expect(rows.map(l => l.node_id), 'b, c (before the restart), e (after it, before the resume), then f live; a not again').toEqual([b.id, c.id, e.id, f.id])
    const ids = positions(resumed.messages)
    expect(repeated(ids)).toEqual([])
    expect(ids, 'replay and live in position order').toEqual([...ids].sort((x, y) => x - y))
    expect(Math.min(...ids)).toBeGreaterThan(Number(ID.exec(resumeFrom)![2]))
    expect(resumed.messages.some(named('reset'))).toBe(false)
  })
})
