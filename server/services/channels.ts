import type { IncomingMessage, ServerResponse } from 'node:http'
import { and, asc, eq, gt, lte } from 'drizzle-orm'
import type { Database } from '../db'
import { events, nodes, nodeSamples } from '../db/schema'
import type { Aggregator } from './aggregator'
import { toEventView } from './events'
import { channelOf, encodeSse, type Hub, type HubClient, type MessageMeta } from './hub'
import type { JournalEntry, Journal, ReportEntry } from './journal'
import { toNodeStats, type Registry } from './registry'

/** Seed 001's channels. `all` carries every one of them. */
export const CHANNELS = ['stats', 'logs', 'nodes', 'reports', 'heartbeat'] as const
export type Channel = (typeof CHANNELS)[number]

export interface ChannelOptions {
  statsMs: number
  logsMs: number
  nodesMs: number
  heartbeatMs: number
  /** Most replayed messages per reconnect; a client further behind gets `reset`. */
  replayLimit: number
  retryMs: number
  staleAfterSeconds: number
}

const ALL = 'all'

/** `<unix-seconds>-<stream position>`: the id a client sends back as Last-Event-ID. */
export const eventId = (position: number) => `${Math.floor(Date.now() / 1000)}-${position}`

/** The stream position in a Last-Event-ID, or undefined when it is not one of ours. */
export function parseEventId(id: string | undefined): number | undefined {
  const m = id ? /^\d+-(\d+)$/.exec(id.trim()) : null
  return m ? Number(m[1]) : undefined
}

/** Unix seconds, as seed 001 gives every `timestamp`. */
const unix = (d: Date) => Math.floor(d.getTime() / 1000)

/**
 * A report as the reports channel carries it: `timestamp` in unix seconds like the seed's requests
 * (and every other seed 001 payload); `sampled_at` and `received_at` exact, ISO-8601 UTC.
 */
function reportPayload(r: ReportEntry, hostname: string | null) {
  return {
    id: r.id, node_id: r.nodeId, hostname, timestamp: unix(r.ts), sampled_at: r.ts.toISOString(), received_at: r.receivedAt.toISOString(),
    cpu_percent: r.cpuPercent, memory_percent: r.memoryPercent, disk_percent: r.diskPercent,
    uptime_seconds: r.uptimeSeconds, active_backups: r.activeBackups,
  }
}

/**
 * Seed 001's named-event streams. Snapshot channels (stats, nodes, heartbeat) are built once per
 * tick while anyone listens; logs and reports come from the journal after they are committed, and
 * their ids are stream positions, so a reconnect with Last-Event-ID replays what it missed.
 */
export function createChannels(deps: { db: Database, hub: Hub, registry: Registry, journal: Journal, aggregator: Aggregator }, opts: ChannelOptions) {
  const { db, hub, registry, journal, aggregator } = deps
  let pendingLogs: JournalEntry[] = []
  // The newest position whose entries, and all before it, have been published: the id snapshots
  // carry, so resuming from a snapshot's id never skips a log row still waiting for its batch.
  let published = journal.position()

  const listening = (channel: Channel) => hub.count(channel) + hub.count(ALL) > 0
  function publish(channel: Channel, data: unknown, position = published, meta: MessageMeta = {}): void {
    const buf = encodeSse(data, { id: eventId(position), event: channel })
    hub.publish(channel, buf, { channel, ...meta })
    hub.publish(ALL, buf, { channel, ...meta })
  }

  const snapshots: Record<'stats' | 'nodes' | 'heartbeat', () => unknown> = {
    stats: () => ({ timestamp: Math.floor(Date.now() / 1000), ...aggregator.snapshot() }),
    nodes: () => {
      const now = Date.now()
      const list = registry.list().map(n => ({ ...toNodeStats(n, now, opts.staleAfterSeconds), kind: n.kind, labels: n.labels }))
      return { timestamp: Math.floor(now / 1000), nodes: list, total: list.length }
    },
    heartbeat: () => ({ timestamp: Math.floor(Date.now() / 1000) }),
  }

  const topics = [...CHANNELS, ALL]
  /**
   * The seed's clients listen for `heartbeat` on whatever stream they opened (its browser and
   * Python examples on /stream/stats), so the one encoded heartbeat goes to every channel's stream.
   */
  function heartbeat(): void {
    if (!topics.some(t => hub.count(t) > 0)) return
    const buf = encodeSse(snapshots.heartbeat(), { id: eventId(published), event: 'heartbeat' })
    for (const t of topics) hub.publish(t, buf, { channel: 'heartbeat' })
  }

  const logsMessage = (entries: JournalEntry[]) => {
    const logs = entries.flatMap(e => (e.kind === 'log' ? [toEventView(e.row)] : []))
    return { timestamp: Math.floor(Date.now() / 1000), logs, count: logs.length }
  }

  /** Publishes the waiting log rows as one `logs` message. */
  function flushLogs(): void {
    if (!pendingLogs.length) return
    const batch = pendingLogs
    pendingLogs = []
    const last = batch.at(-1)!.row.id
    published = Math.max(published, last)
    if (!listening('logs')) return
    // A client still replaying gets only the part of this batch its replay did not cover.
    const remainder = (after: number) => {
      const rest = batch.filter(e => e.row.id > after)
      return rest.length ? encodeSse(logsMessage(rest), { id: eventId(last), event: 'logs' }) : null
    }
    publish('logs', logsMessage(batch), last, { remainder })
  }

  const unsubscribe = journal.onCommit((entries) => {
    for (const e of entries) {
      if (e.kind === 'report') {
        aggregator.record(e.row)
        // Waiting log rows go first: a client whose last id is this report's has then seen every
        // position before it, so resuming from that id cannot skip a row still in a batch.
        flushLogs()
        published = e.row.id
        if (listening('reports')) publish('reports', reportPayload(e.row, registry.get(e.row.nodeId)?.hostname ?? null), e.row.id, { position: e.row.id })
      }
      else pendingLogs.push(e)
    }
  })

  const timers = [
    setInterval(() => listening('stats') && publish('stats', snapshots.stats()), opts.statsMs),
    setInterval(() => listening('nodes') && publish('nodes', snapshots.nodes()), opts.nodesMs),
    setInterval(heartbeat, opts.heartbeatMs),
    setInterval(flushLogs, opts.logsMs),
  ]
  timers.forEach(t => t.unref())

  /** What a client missed after `from`, in position order; undefined when it must reset instead. */
  async function missed(from: number, upTo: number, channels: Channel[]) {
    const limit = opts.replayLimit + 1
    const logs = channels.includes('logs')
      ? await db.select().from(events).where(and(gt(events.id, from), lte(events.id, upTo))).orderBy(asc(events.id)).limit(limit)
      : []
    const reports = channels.includes('reports')
      ? await db.select({ s: nodeSamples, hostname: nodes.hostname }).from(nodeSamples).leftJoin(nodes, eq(nodes.id, nodeSamples.nodeId))
        .where(and(gt(nodeSamples.id, from), lte(nodeSamples.id, upTo))).orderBy(asc(nodeSamples.id)).limit(limit)
      : []
    if (logs.length + reports.length > opts.replayLimit) return undefined
    const items = [
      ...logs.map(row => ({ position: row.id, channel: 'logs' as const, data: { timestamp: Math.floor(row.createdAt.getTime() / 1000), logs: [toEventView(row)], count: 1 } })),
      ...reports.map(({ s, hostname }) => ({ position: s.id, channel: 'reports' as const, data: reportPayload(s, hostname) })),
    ]
    return items.sort((a, b) => a.position - b.position)
  }

  return {
    /**
     * Opens a named-event stream on `channel` (or `all`). With a resume position, the missed logs
     * and reports are sent first while live ones wait, then live ones follow without a gap or repeat.
     */
    async open(req: IncomingMessage, res: ServerResponse, channel: Channel | typeof ALL, resumeFrom?: number): Promise<void> {
      const channels: Channel[] = channel === ALL ? [...CHANNELS] : [channel]
      if (resumeFrom !== undefined) {
        // An id from another instance may be ahead of this one: read what it committed first.
        if (journal.shared && resumeFrom > journal.position()) await journal.catchUp()
        // Waiting log rows go out to the others now: the replay below covers them for this client,
        // and a batch sent after its hold ends would repeat them.
        flushLogs()
      }
      const retry = encodeSse({ timestamp: Math.floor(Date.now() / 1000), channels }, { id: eventId(published), event: 'connected', retryMs: opts.retryMs })
      const client: HubClient = hub.subscribe(req, res, channel, [retry], { hold: resumeFrom !== undefined })
      if (resumeFrom !== undefined) {
        // Everything up to `upTo` is committed and readable; anything later arrives held, live.
        const upTo = journal.position()
        const behindRetention = resumeFrom < await journal.purgedUpTo()
        const unknown = resumeFrom > upTo
        const items = behindRetention || unknown ? undefined : await missed(resumeFrom, upTo, channels)
        if (!items) {
          const reason = unknown ? 'unknown_position' : behindRetention ? 'position_expired' : 'too_far_behind'
          hub.send(client, encodeSse({ reason, message: 'Missed events cannot be replayed: reload the current state', timestamp: Math.floor(Date.now() / 1000) }, { id: eventId(upTo), event: 'reset' }))
        }
        else {
          for (const item of items) hub.send(client, encodeSse(item.data, { id: eventId(item.position), event: item.channel }), { channel: item.channel, position: item.position })
        }
        hub.release(client, upTo)
      }
      // Snapshot channels start with their current state rather than waiting a tick.
      for (const c of channels) {
        if (c === 'stats' || c === 'nodes') hub.send(client, encodeSse(snapshots[c](), { id: eventId(published), event: c }), { channel: c })
      }
    },

    /** The aggregate for REST. */
    stats: snapshots.stats,

    /**
     * Hub figures as seed 001 reports them: `subscriptions` per channel, a /stream/all client
     * counting for each of the five (it receives them all), seed 000/002 streams under their own
     * channel; `streams` the connections per stream path.
     */
    hubStats() {
      const { total_clients, subscriptions: streams, ...sent } = hub.stats()
      const subscriptions: Record<string, number> = Object.fromEntries(CHANNELS.map(c => [c, streams[ALL] ?? 0]))
      for (const [topic, n] of Object.entries(streams)) {
        if (topic !== ALL) subscriptions[channelOf(topic)] = (subscriptions[channelOf(topic)] ?? 0) + n
      }
      return { total_clients, subscriptions, streams, ...sent }
    },

    close(): void {
      timers.forEach(t => clearInterval(t))
      unsubscribe()
    },
  }
}

export type Channels = ReturnType<typeof createChannels>
