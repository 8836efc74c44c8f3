import type { IncomingMessage, ServerResponse } from 'node:http'
import { and, asc, eq, gt, lte } from 'drizzle-orm'
import { CHANNELS, type Channel, type ChannelConnected, type ChannelMessages, type HeartbeatMessage, type HubStats, type LogsMessage, type NodesMessage, type ReportMessage, type ResetMessage, type StatsMessage } from '../../../shared/contracts/seed001'
import type { EventView } from '../../../shared/contracts/seed002'
import type { Database } from '../../db'
import { events, nodes, nodeSamples } from '../../db/schema'
import type { Aggregator } from '../aggregator'
import { toEventView } from '../events'
import type { JournalEntry, Journal, ReportEntry } from '../journal'
import { toNodeStats, type Registry } from '../registry'
import { startedInstance } from '../started'
import { channelOf, encodeSse, type Hub, type MessageMeta } from './hub'
import { eventId, openResumable, type ReplayItem, type ResumePoint } from './replay'

export interface ChannelOptions {
  statsMs: number
  logsMs: number
  nodesMs: number
  /** Most replayed messages per reconnect; a client further behind gets `reset`. */
  replayLimit: number
  retryMs: number
  staleAfterSeconds: number
}

const ALL = 'all'

/** Unix seconds, as seed 001 gives every `timestamp`. */
const unix = (d: Date) => Math.floor(d.getTime() / 1000)
const now = () => unix(new Date())

/**
 * A report as the reports channel carries it: `timestamp` in unix seconds like the seed's requests
 * (and every other seed 001 payload); `sampled_at` and `received_at` exact, ISO-8601 UTC.
 */
function reportPayload(r: ReportEntry, hostname: string | null): ReportMessage {
  return {
    id: r.id, node_id: r.nodeId, hostname, timestamp: unix(r.ts), sampled_at: r.ts.toISOString(), received_at: r.receivedAt.toISOString(),
    cpu_percent: r.cpuPercent, memory_percent: r.memoryPercent, disk_percent: r.diskPercent,
    uptime_seconds: r.uptimeSeconds, active_backups: r.activeBackups,
  }
}

const logsMessage = (logs: EventView[], timestamp = now()): LogsMessage => ({ timestamp, logs, count: logs.length })
const batchMessage = (entries: JournalEntry[]) => logsMessage(entries.flatMap(e => (e.kind === 'log' ? [toEventView(e.row)] : [])))

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
  function publish<C extends Channel>(channel: C, data: ChannelMessages[C], position = published, meta: MessageMeta = {}): void {
    const buf = encodeSse(data, { id: eventId(position), event: channel })
    hub.publish(channel, buf, { channel, ...meta })
    hub.publish(ALL, buf, { channel, ...meta })
  }

  const snapshots = {
    stats: (): StatsMessage => ({ timestamp: now(), ...aggregator.snapshot() }),
    nodes: (): NodesMessage => {
      const at = Date.now()
      const list = registry.list().map(n => ({ ...toNodeStats(n, at, opts.staleAfterSeconds), kind: n.kind, labels: n.labels }))
      return { timestamp: Math.floor(at / 1000), nodes: list, total: list.length }
    },
  }

  // The seed's clients listen for `heartbeat` on whatever stream they opened (its browser and
  // Python examples on /stream/stats), so the one encoded heartbeat goes to every channel's stream.
  const topics = new Set<string>([...CHANNELS, ALL])
  const endHeartbeat = hub.setHeartbeat(t => topics.has(t), () => encodeSse({ timestamp: now() } satisfies HeartbeatMessage, { id: eventId(published), event: 'heartbeat' }), { channel: 'heartbeat' })

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
      return rest.length ? encodeSse(batchMessage(rest), { id: eventId(last), event: 'logs' }) : null
    }
    publish('logs', batchMessage(batch), last, { remainder })
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
    setInterval(flushLogs, opts.logsMs),
  ]
  timers.forEach(t => t.unref())

  /** The logs and reports a client missed after `from`, up to `upTo`, in position order. */
  async function missed({ position: from = 0 }: ResumePoint, upTo: number, limit: number, channels: Channel[]): Promise<ReplayItem[]> {
    const logs = channels.includes('logs')
      ? await db.select().from(events).where(and(gt(events.id, from), lte(events.id, upTo))).orderBy(asc(events.id)).limit(limit)
      : []
    const reports = channels.includes('reports')
      ? await db.select({ s: nodeSamples, hostname: nodes.hostname }).from(nodeSamples).leftJoin(nodes, eq(nodes.id, nodeSamples.nodeId))
        .where(and(gt(nodeSamples.id, from), lte(nodeSamples.id, upTo))).orderBy(asc(nodeSamples.id)).limit(limit)
      : []
    const items: ReplayItem[] = [
      ...logs.map(row => ({ position: row.id, event: 'logs', channel: 'logs', data: logsMessage([toEventView(row)], unix(row.createdAt)) })),
      ...reports.map(({ s, hostname }) => ({ position: s.id, event: 'reports', channel: 'reports', data: reportPayload(s, hostname) })),
    ]
    return items.sort((a, b) => a.position - b.position)
  }

  return {
    /**
     * Opens a named-event stream on `channel` (or `all`). When it resumes (seed 001 resumes by id
     * only), the missed logs and reports come first, then live messages without a gap or repeat.
     */
    async open(req: IncomingMessage, res: ServerResponse, channel: Channel | typeof ALL, from: ResumePoint): Promise<void> {
      const channels: Channel[] = channel === ALL ? [...CHANNELS] : [channel]
      const client = await openResumable({ hub, journal }, req, res, from, {
        topic: channel,
        replayLimit: opts.replayLimit,
        // Waiting log rows go out to the others now: the replay covers them for this client, and a
        // batch sent after its hold ends would repeat them.
        caughtUp: flushLogs,
        // A resuming client is greeted with where it resumes from: if it drops before the replay,
        // it resumes from there again rather than past what it missed.
        greeting: (_, resumeFrom) => encodeSse({ timestamp: now(), channels } satisfies ChannelConnected, { id: eventId(resumeFrom ?? published), event: 'connected', retryMs: opts.retryMs }),
        missed: (after, upTo, limit) => missed(after, upTo, limit, channels),
        reset: (reason): ResetMessage => ({ reason, message: 'Missed events cannot be replayed: reload the current state', timestamp: now() }),
      })
      // Snapshot channels start with their current state rather than waiting a tick.
      for (const c of channels) {
        if (c === 'stats' || c === 'nodes') hub.send(client, encodeSse(snapshots[c](), { id: eventId(published), event: c }), { channel: c })
      }
    },

    /**
     * Hub figures as seed 001 reports them: `subscriptions` per channel, a /stream/all client
     * counting for each of the five (it receives them all), seed 000/002 streams under their own
     * channel; `streams` the connections per stream path.
     */
    hubStats(): HubStats {
      const { total_clients, subscriptions: streams, ...sent } = hub.stats()
      const subscriptions: Record<string, number> = Object.fromEntries(CHANNELS.map(c => [c, streams[ALL] ?? 0]))
      for (const [topic, n] of Object.entries(streams)) {
        if (topic !== ALL) subscriptions[channelOf(topic)] = (subscriptions[channelOf(topic)] ?? 0) + n
      }
      return { total_clients, subscriptions, streams, ...sent }
    },

    close(): void {
      timers.forEach(t => clearInterval(t))
      endHeartbeat()
      unsubscribe()
    },
  }
}

export type Channels = ReturnType<typeof createChannels>

const running = startedInstance<Channels>()
/** The running seed 001 channels; 503 while there are none. */
export const useChannels = running.use
/** Sets (or, with undefined, clears) the running channels. */
export const setChannels = running.set
