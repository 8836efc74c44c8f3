import type { IncomingMessage, ServerResponse } from 'node:http'
import { randomBytes } from 'node:crypto'
import type { NodeStatsDelta, NodeStatsSnapshot, StreamConnected } from '../../../shared/contracts/seed000'
import { toNodeStats, type Registry } from '../registry'
import type { StatusThresholds } from '../status'
import { encodeSse, type Hub } from './hub'

/** Ticks a resuming client may have missed and still get one catch-up delta for (5 min at 5 s); older: a snapshot. */
export const RESUME_TICKS = 60

/** How long a ticker nobody listens to keeps its position, so a dashboard that reconnects later still resumes. */
export const KEEP_IDLE_MS = 10 * 60_000
/** Idle tickers kept at most (each holds every node's encoded summary: ~2 MB at 10,000 nodes); the oldest go first. */
export const MAX_IDLE_TICKERS = 3

interface Ticker {
  /** The next tick; null while nobody listens (no work then: the next joiner's tick catches up). */
  timer: NodeJS.Timeout | null
  /** Forgets the position after KEEP_IDLE_MS without listeners. */
  forget: NodeJS.Timeout | null
  /** Names this ticker's run of positions: an id from another run (a restart, a forgotten ticker) cannot resume. */
  epoch: string
  /** The position of the last tick. */
  seq: number
  at: number
  /** Each node's summary as the last tick sent it, encoded, by id. */
  sent: Map<number, string>
  /** The ids each recent tick carried (changed or removed), oldest first, for resuming. */
  recent: { seq: number, ids: number[] }[]
  /** The registry layout the last tick saw: a joiner after a node was added or removed gets a fresh tick. */
  layout: number
}

/** The dashboard's position id: `<epoch>.<seq>`. */
export const positionId = (epoch: string, seq: number) => `${epoch}.${seq}`

/** A position id's parts, or null when it is not one. */
export function parsePosition(id: string | undefined): { epoch: string, seq: number } | null {
  const m = id ? /^([a-z0-9]{1,32})\.(\d{1,15})$/.exec(id) : null
  return m ? { epoch: m[1]!, seq: Number(m[2]) } : null
}

/**
 * The dashboard's stream of every node's summary (not a seed's contract): one full `snapshot`,
 * then per tick a `delta` with only the nodes whose summary changed and the ids removed. Every
 * message carries its position as the SSE id; a client that reconnects with it gets one delta of
 * what it missed (up to RESUME_TICKS ticks back), else a fresh snapshot. At 10,000 nodes a tick in
 * which 10 % change costs a tenth of the full snapshot's bytes. Seed 000's unified stream keeps
 * sending full snapshots to API clients.
 */
export function createNodeDeltas(hub: Hub, registry: Registry, thresholds: StatusThresholds) {
  const tickers = new Map<number, Ticker>()
  let layout = 0
  registry.subscribe(({ type }) => {
    if (type !== 'sampled') layout++
  })
  const topicOf = (interval: number) => `node-stats:delta:${interval}`
  const forget = (interval: number, t: Ticker) => {
    if (t.forget) clearTimeout(t.forget)
    if (tickers.get(interval) === t && hub.count(topicOf(interval)) === 0) tickers.delete(interval)
  }
  const pause = (interval: number, t: Ticker) => {
    if (t.timer) clearTimeout(t.timer)
    t.timer = null
    t.forget ??= setTimeout(() => forget(interval, t), KEEP_IDLE_MS).unref()
    const idle = [...tickers].filter(([, x]) => x.timer === null).sort((a, b) => a[1].at - b[1].at)
    for (const [i, x] of idle.slice(0, Math.max(0, idle.length - MAX_IDLE_TICKERS))) forget(i, x)
  }
  hub.onTopicChange((topic, subscribers) => {
    if (subscribers > 0 || !topic.startsWith('node-stats:delta:')) return
    const interval = Number(topic.slice('node-stats:delta:'.length))
    const t = tickers.get(interval)
    if (t) pause(interval, t)
  })

  /** Compares every node's summary with what was sent, advances the position and returns the delta. */
  function advance(t: Ticker): Buffer {
    const now = Date.now()
    const changed: string[] = []
    const ids: number[] = []
    const present = new Set<number>()
    for (const node of registry.list()) {
      present.add(node.id)
      const encoded = JSON.stringify(toNodeStats(node, now, thresholds))
      if (t.sent.get(node.id) === encoded) continue
      t.sent.set(node.id, encoded)
      changed.push(encoded)
      ids.push(node.id)
    }
    const removed: number[] = []
    for (const id of t.sent.keys()) {
      if (present.has(id)) continue
      t.sent.delete(id)
      removed.push(id)
    }
    t.seq++
    t.at = now
    t.layout = layout
    t.recent.push({ seq: t.seq, ids: [...ids, ...removed] })
    if (t.recent.length > RESUME_TICKS) t.recent.shift()
    return deltaMessage(t, changed, removed)
  }

  /** A delta at the ticker's position, from summaries already encoded. */
  function deltaMessage(t: Ticker, changed: string[], removed: number[]): Buffer {
    const head: Omit<NodeStatsDelta, 'changed'> = { timestamp: new Date(t.at).toISOString(), removed }
    const json = `${JSON.stringify(head).slice(0, -1)},"changed":[${changed.join(',')}]}`
    return Buffer.from(`id: ${positionId(t.epoch, t.seq)}\nevent: delta\ndata: ${json}\n\n`)
  }

  /** Every node at the ticker's position, in id order. */
  function snapshotMessage(t: Ticker): Buffer {
    const head: Omit<NodeStatsSnapshot, 'nodes'> = { timestamp: new Date(t.at).toISOString() }
    const nodes = [...t.sent.entries()].sort((a, b) => a[0] - b[0]).map(([, encoded]) => encoded)
    const json = `${JSON.stringify(head).slice(0, -1)},"nodes":[${nodes.join(',')}]}`
    return Buffer.from(`id: ${positionId(t.epoch, t.seq)}\nevent: snapshot\ndata: ${json}\n\n`)
  }

  /** What a client that saw position `seq` has missed, as one delta; null when that is too far back. */
  function catchUp(t: Ticker, seq: number): Buffer | null {
    if (seq > t.seq) return null
    const first = t.recent[0]
    if (seq < t.seq && (!first || seq < first.seq - 1)) return null
    const ids = new Set<number>()
    for (const tick of t.recent) if (tick.seq > seq) tick.ids.forEach(id => ids.add(id))
    const changed: string[] = []
    const removed: number[] = []
    for (const id of [...ids].sort((a, b) => a - b)) {
      const encoded = t.sent.get(id)
      if (encoded === undefined) removed.push(id)
      else changed.push(encoded)
    }
    return deltaMessage(t, changed, removed)
  }

  /** Ticks on a fixed timeline (now + k × interval), as seed 000's tickers do, until nobody listens. */
  function run(interval: number, t: Ticker): void {
    if (t.forget) clearTimeout(t.forget)
    t.forget = null
    if (t.timer) return
    const period = interval * 1000
    const start = Date.now()
    let k = 0
    const tick = () => {
      k = Math.max(k + 1, Math.floor((Date.now() - start) / period))
      if (tickers.get(interval) !== t) return
      // Nobody is listening (every joiner was refused or left before subscribing).
      if (hub.count(topicOf(interval)) === 0) return pause(interval, t)
      t.timer = setTimeout(tick, Math.max(0, start + (k + 1) * period - Date.now()))
      // Not publishSnapshot: a delta must not replace an unsent one. A reader too slow for them is
      // dropped by the hub and resumes from its last position.
      hub.publish(topicOf(interval), advance(t))
    }
    t.timer = setTimeout(tick, period)
  }

  function ticker(interval: number): Ticker {
    let t = tickers.get(interval)
    if (!t) {
      t = { timer: null, forget: null, epoch: randomBytes(6).toString('hex'), seq: 0, at: 0, sent: new Map(), recent: [], layout }
      // The first tick is the first snapshot; nobody is subscribed yet to hear it as a delta.
      advance(t)
      tickers.set(interval, t)
    }
    run(interval, t)
    return t
  }

  return {
    /** `/api/v1/metrics/nodes/stats/delta`: `connected`, a snapshot (or the delta since `lastEventId`), then a delta per tick. */
    open(req: IncomingMessage, res: ServerResponse, interval: number, lastEventId?: string): void {
      // The caller left while its request was authenticated: no ticks for nobody.
      if (res.destroyed) return
      const t = ticker(interval)
      // A joiner after the node list changed, or long after the last tick (a paused ticker's last
      // one, say), gets a fresh position; the others get it as an extra delta.
      if (t.layout !== layout || Date.now() - t.at >= interval * 1000) hub.publish(topicOf(interval), advance(t))
      const from = parsePosition(lastEventId)
      const first = (from?.epoch === t.epoch ? catchUp(t, from.seq) : null) ?? snapshotMessage(t)
      const connected = encodeSse({ event: 'connected', interval, timestamp: new Date().toISOString() } satisfies StreamConnected, { event: 'connected' })
      const client = hub.subscribe(req, res, topicOf(interval), [connected])
      hub.send(client, first)
      // The extra delta above may have dropped the last other subscriber as slow, which paused the
      // ticker before this one joined: resume it (a no-op while it runs).
      if (hub.count(topicOf(interval)) > 0) run(interval, t)
    },

    /** Stops every ticker (shutdown). */
    close() {
      for (const t of tickers.values()) {
        if (t.timer) clearTimeout(t.timer)
        if (t.forget) clearTimeout(t.forget)
      }
      tickers.clear()
    },
  }
}

export type NodeDeltas = ReturnType<typeof createNodeDeltas>
