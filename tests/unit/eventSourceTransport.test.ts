import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { runInThisContext } from 'node:vm'
import { acquireStream, STREAM_MAX_ATTEMPTS, type StreamHandle, type StreamListener, type StreamOptions } from '../../utils/eventSourceTransport'
import { DASHBOARD_EVENTS, DASHBOARD_INTERVAL, dashboardStreamUrl, dropEarlySource, earlyScript, takeEarlySession } from '../../utils/earlyStream'

/** A stand-in for the browser's EventSource; the test plays the server. */
class FakeEventSource extends EventTarget {
  static readonly CONNECTING = 0
  static readonly OPEN = 1
  static readonly CLOSED = 2
  static opened: FakeEventSource[] = []
  readyState = FakeEventSource.CONNECTING
  onmessage: ((event: MessageEvent) => void) | null = null
  onerror: (() => void) | null = null

  constructor(readonly url: string) {
    super()
    FakeEventSource.opened.push(this)
  }

  close() {
    this.readyState = FakeEventSource.CLOSED
  }

  /** The server sends `data` as JSON, named `type` (`message`: unnamed). */
  send(type: string, data: unknown, id = '') {
    const event = new MessageEvent(type, { data: JSON.stringify(data), lastEventId: id })
    if (type === 'message') this.onmessage?.(event)
    else this.dispatchEvent(event)
  }

  /** The connection drops: the browser would retry by itself. */
  drop() {
    this.readyState = FakeEventSource.CONNECTING
    this.onerror?.()
  }

  /** The server answers something other than a stream: the browser gives up on it. */
  refuse() {
    this.readyState = FakeEventSource.CLOSED
    this.onerror?.()
  }
}

const EVENTS = '/api/v1/events/stream'
const opened = () => FakeEventSource.opened
const last = () => FakeEventSource.opened.at(-1)!
const probe = vi.fn<(url: string) => Promise<Response>>()
let handles: StreamHandle[] = []

function join(url = EVENTS, options: StreamOptions = {}, listener: StreamListener = {}): StreamHandle {
  const handle = acquireStream(url, { eventTypes: ['node_registered'], ...options }, listener)
  handles.push(handle)
  return handle
}

/** Lets the refusal probe's promise settle. */
const settle = () => vi.advanceTimersByTimeAsync(0)

beforeEach(() => {
  vi.useFakeTimers()
  vi.spyOn(Math, 'random').mockReturnValue(0)
  vi.stubGlobal('EventSource', FakeEventSource)
  vi.stubGlobal('fetch', probe)
  probe.mockResolvedValue(new Response(null, { status: 200 }))
  FakeEventSource.opened = []
})

afterEach(() => {
  for (const handle of handles) handle.release()
  handles = []
  probe.mockReset()
  vi.unstubAllGlobals()
  vi.restoreAllMocks()
  vi.useRealTimers()
})

describe('backoff', () => {
  it('waits 1 s, doubling to 30 s, between failed reconnects', () => {
    const stream = join()
    for (const delay of [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]) {
      const before = opened().length
      last().drop()
      expect(stream.status.state).toBe('reconnecting')
      vi.advanceTimersByTime(delay - 1)
      expect(opened()).toHaveLength(before)
      vi.advanceTimersByTime(1)
      expect(opened()).toHaveLength(before + 1)
    }
  })

  it('starts again from 1 s once the server greets a connection', () => {
    const stream = join()
    last().drop()
    vi.advanceTimersByTime(1000)
    last().drop()
    vi.advanceTimersByTime(2000)
    last().send('connected', { timestamp: 1 })
    expect(stream.status).toMatchObject({ state: 'connected', attempts: 0, error: null })
    last().drop()
    vi.advanceTimersByTime(1000)
    expect(opened()).toHaveLength(4)
  })

  it('adds up to 20 % jitter', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    join()
    last().drop()
    vi.advanceTimersByTime(1099)
    expect(opened()).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(opened()).toHaveLength(2)
  })
})

describe('giving up', () => {
  it(`stops in gave_up after ${STREAM_MAX_ATTEMPTS} failed reconnects and opens nothing more`, () => {
    const stream = join()
    last().drop()
    for (let i = 1; i <= STREAM_MAX_ATTEMPTS; i++) {
      expect(stream.status).toMatchObject({ state: 'reconnecting', attempts: i, error: 'Connection lost' })
      vi.advanceTimersByTime(30_000)
      last().drop()
    }
    expect(stream.status).toMatchObject({ state: 'gave_up', attempts: STREAM_MAX_ATTEMPTS, error: 'Connection lost' })
    expect(opened()).toHaveLength(1 + STREAM_MAX_ATTEMPTS)
    vi.advanceTimersByTime(600_000)
    expect(opened()).toHaveLength(1 + STREAM_MAX_ATTEMPTS)
  })

  it('gives up after as many attempts as asked', () => {
    const stream = join(EVENTS, { maxAttempts: 2 })
    last().drop()
    vi.advanceTimersByTime(1000)
    last().drop()
    vi.advanceTimersByTime(2000)
    last().drop()
    expect(stream.status.state).toBe('gave_up')
    expect(opened()).toHaveLength(3)
  })

  it('connects again at once on retry(), with a fresh count of attempts', () => {
    const stream = join(EVENTS, { maxAttempts: 1 })
    last().drop()
    vi.advanceTimersByTime(1000)
    last().drop()
    expect(stream.status.state).toBe('gave_up')
    stream.retry()
    expect(opened()).toHaveLength(3)
    expect(stream.status).toMatchObject({ state: 'connecting', attempts: 0 })
    last().send('connected', {})
    expect(stream.status).toMatchObject({ state: 'connected', error: null })
    // The count starts over: one more failure is a reconnect again, not the end.
    last().drop()
    expect(stream.status.state).toBe('reconnecting')
  })

  it('takes a connection that hears nothing for silenceMs as dead', () => {
    const stream = join(EVENTS, { silenceMs: 45_000 })
    last().send('connected', {})
    vi.advanceTimersByTime(30_000)
    last().send('heartbeat', { timestamp: 1 })
    vi.advanceTimersByTime(44_999)
    expect(stream.status.state).toBe('connected')
    vi.advanceTimersByTime(1)
    expect(stream.status).toMatchObject({ state: 'reconnecting', error: 'The stream went silent' })
    expect(opened()[0]!.readyState).toBe(FakeEventSource.CLOSED)
  })
})

describe('reference counting', () => {
  it('opens one EventSource per URL, however many callers join it', () => {
    join()
    join()
    join('/api/v1/metrics/nodes/stats/stream?interval=5')
    expect(opened().map(s => s.url)).toEqual([EVENTS, '/api/v1/metrics/nodes/stats/stream?interval=5'])
  })

  it('closes the EventSource when the last caller leaves, and not before', () => {
    const first = join()
    const second = join()
    first.release()
    first.release()
    expect(last().readyState).not.toBe(FakeEventSource.CLOSED)
    second.release()
    expect(last().readyState).toBe(FakeEventSource.CLOSED)
    join()
    expect(opened()).toHaveLength(2)
  })

  it('leaves no reconnect behind once closed', () => {
    const stream = join()
    last().drop()
    stream.release()
    vi.advanceTimersByTime(60_000)
    expect(opened()).toHaveLength(1)
  })

  it('tells every caller, and gives one that joins late the newest message at once', () => {
    const heard: unknown[] = []
    join('/s', {}, { message: m => heard.push(m.data) })
    last().send('message', { n: 1 })
    const late = join('/s', {}, { message: m => heard.push(m.data) })
    expect(late.latest).toEqual({ type: 'message', id: '', data: { n: 1 } })
    last().send('message', { n: 2 })
    expect(heard).toEqual([{ n: 1 }, { n: 2 }, { n: 2 }])
  })
})

describe('resuming', () => {
  it('reconnects from the last id seen', () => {
    const stream = join()
    last().send('connected', {}, '5-0')
    last().send('node_registered', { id: 6 }, '6-0')
    expect(stream.status.lastEventId).toBe('6-0')
    last().drop()
    vi.advanceTimersByTime(1000)
    expect(last().url).toBe(`${EVENTS}?lastEventId=6-0`)
  })

  it('starts from resumeFrom, and after that from what the stream said', () => {
    const resumeFrom = vi.fn(() => '3-0')
    join(EVENTS, { resumeFrom })
    expect(last().url).toBe(`${EVENTS}?lastEventId=3-0`)
    last().send('connected', {}, '4-0')
    last().drop()
    vi.advanceTimersByTime(1000)
    expect(last().url).toBe(`${EVENTS}?lastEventId=4-0`)
    expect(resumeFrom).toHaveBeenCalledTimes(1)
  })

  it('passes a reset on with the position it gives', () => {
    const resets: [string, string | null][] = []
    const stream = join(EVENTS, {}, { reset: (reason, id) => resets.push([reason, id]) })
    last().send('reset', { reason: 'too_old', message: 'Events were missed' }, '9-0')
    expect(resets).toEqual([['Events were missed', '9-0']])
    expect(stream.status.lastEventId).toBe('9-0')
  })

  it('without any id, asks for everything since the server last spoke', () => {
    join('/s?interval=5')
    last().send('heartbeat', { timestamp: 1_700_000_000 })
    last().drop()
    vi.advanceTimersByTime(1000)
    expect(last().url).toBe('/s?interval=5&since=1700000000')
  })
})

describe('refusals and ends', () => {
  it('asks a refused stream for its status: 401 ends it as a session that ended', async () => {
    probe.mockResolvedValue(new Response(null, { status: 401 }))
    const stream = join()
    last().refuse()
    await settle()
    expect(probe).toHaveBeenCalledWith(EVENTS, expect.objectContaining({ credentials: 'same-origin' }))
    expect(stream.status).toMatchObject({ state: 'closed', ended: true, refusedWith: 401 })
    vi.advanceTimersByTime(60_000)
    expect(opened()).toHaveLength(1)
  })

  it('ends on 404, and retry() opens it again', async () => {
    probe.mockResolvedValue(new Response(null, { status: 404 }))
    const stream = join('/api/v1/metrics/nodes/9/stats/stream')
    last().refuse()
    await settle()
    expect(stream.status).toMatchObject({ state: 'closed', ended: true, refusedWith: 404, error: 'Not found' })
    stream.retry()
    expect(stream.status).toMatchObject({ state: 'connecting', ended: false, refusedWith: null })
  })

  it('retries any other refusal, and a probe that fails, with backoff', async () => {
    probe.mockResolvedValueOnce(new Response(null, { status: 503 })).mockRejectedValueOnce(new TypeError('offline'))
    const stream = join()
    last().refuse()
    await settle()
    expect(stream.status).toMatchObject({ state: 'reconnecting', attempts: 1, error: 'The server answered 503' })
    vi.advanceTimersByTime(1000)
    last().refuse()
    await settle()
    expect(stream.status).toMatchObject({ state: 'reconnecting', attempts: 2, error: 'Connection lost' })
  })

  it('does not probe a connection that merely dropped', () => {
    join()
    last().drop()
    expect(probe).not.toHaveBeenCalled()
  })

  it('ignores a probe that answers after the stream was closed', async () => {
    let answer!: (response: Response) => void
    probe.mockReturnValue(new Promise((resolve) => {
      answer = resolve
    }))
    const stream = join()
    last().refuse()
    stream.retry()
    answer(new Response(null, { status: 401 }))
    await settle()
    expect(stream.status).toMatchObject({ state: 'connecting', ended: false, refusedWith: null })
  })

  it('reads seed 000 greetings and ends in-band, and passes its data on unnamed', () => {
    const heard: unknown[] = []
    const stream = join('/api/v1/metrics/nodes/3/stats/stream', {}, { message: m => heard.push(m) })
    last().send('message', { event: 'connected', interval: 2, timestamp: '2026-01-01T00:00:00Z' })
    expect(stream.status.state).toBe('connected')
    last().send('message', { node: { id: 3 } })
    expect(heard).toEqual([{ type: 'message', id: '', data: { node: { id: 3 } } }])
    last().send('message', { event: 'deleted', id: 3 })
    expect(stream.status).toMatchObject({ state: 'closed', ended: true, refusedWith: null })
    expect(last().readyState).toBe(FakeEventSource.CLOSED)
    vi.advanceTimersByTime(60_000)
    expect(opened()).toHaveLength(1)
  })
})

describe('the dashboard stream the page\'s inline script opened', () => {
  const DASHBOARD = dashboardStreamUrl(DASHBOARD_INTERVAL)

  /** Runs the head's inline script as a page at `/` would, the session check answering `session`. */
  async function loadPage(session: unknown) {
    vi.stubGlobal('window', Object.assign(new EventTarget(), { fetch: probe, EventSource: FakeEventSource }))
    vi.stubGlobal('location', { pathname: '/' })
    probe.mockResolvedValue(Response.json(session))
    runInThisContext(earlyScript())
    return await takeEarlySession()
  }

  it('is taken over with what it heard, in order, and no second connection is opened', async () => {
    expect(await loadPage({ user: { id: 1 }, setup_required: false })).toMatchObject({ user: { id: 1 } })
    expect(probe).toHaveBeenCalledWith('/api/v1/auth/session', expect.anything())
    expect(opened().map(s => s.url)).toEqual([DASHBOARD])
    last().send('connected', { timestamp: 1 })
    last().send('snapshot', { n: 1 }, 'e.1')
    const heard: string[] = []
    const stream = join(DASHBOARD, { eventTypes: DASHBOARD_EVENTS }, { message: m => heard.push(`${m.type} ${m.id}`) })
    await settle()
    last().send('delta', { n: 2 }, 'e.2')
    expect(heard).toEqual(['snapshot e.1', 'delta e.2'])
    expect(stream.status).toMatchObject({ state: 'connected', lastEventId: 'e.2' })
    expect(opened()).toHaveLength(1)
    // Taken once: the session check is the app's own from now on.
    expect(takeEarlySession()).toBeNull()
  })

  it('is not opened for an anonymous visit', async () => {
    expect(await loadPage({ user: null, setup_required: false })).toMatchObject({ user: null })
    expect(opened()).toHaveLength(0)
  })

  it('is closed when it failed before it was taken, and the transport opens its own', async () => {
    await loadPage({ user: { id: 1 }, setup_required: false })
    const early = last()
    early.drop()
    join(DASHBOARD, { eventTypes: DASHBOARD_EVENTS })
    expect(early.readyState).toBe(FakeEventSource.CLOSED)
    expect(opened()).toHaveLength(2)
  })

  it('is closed when the first page took nothing', async () => {
    await loadPage({ user: { id: 1 }, setup_required: false })
    dropEarlySource()
    expect(last().readyState).toBe(FakeEventSource.CLOSED)
    join(DASHBOARD, { eventTypes: DASHBOARD_EVENTS })
    expect(opened()).toHaveLength(2)
  })
})
