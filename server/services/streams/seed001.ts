import type { IncomingMessage, ServerResponse } from 'node:http'
import { and, asc, eq, gt, lte } from 'drizzle-orm'
import {
  CHANNELS, STATS_NODES_MAX, type Channel, type ChannelConnected, type ChannelMessages, type EventsMessage, type HeartbeatMessage, type HubStats,
  type LogsMessage, type NodeEntry, type NodesMessage, type ReportMessage, type RequestLogEntry, type ResetMessage, type StatsMessage,
} from '../../../shared/contracts/seed001'
import type { EventView } from '../../../shared/contracts/seed002'
import type { Database } from '../../db'
import { events, nodes, nodeSamples } from '../../db/schema'
import type { Aggregator } from '../aggregator'
import { toEventView } from '../events'
import type { JournalEntry, Journal, ReportEntry } from '../journal'
import { toNodeStats, type Registry } from '../registry'
import type { RequestLog } from '../requestLog'
import { startedInstance } from '../started'
import { channelOf, encodeSse, type Hub, type MessageMeta } from './hub'
import { fittingPrefix, jsonBytes, splitForLines } from './lines'
import { eventId, openResumable, type ReplayItem, type ResumePoint } from './replay'

export interface ChannelOptions {
  statsMs: number
  logsMs: number
  nodesMs: number
  /** Most replayed messages per reconnect; a client further behind gets `reset`. */
  replayLimit: number
  retryMs: number
  staleAfterSeconds: number
  unreachableAfterSeconds: number
}

const ALL = 'all'
// Seed 002's event stream already has the hub topic `events`; this channel's topic counts under the same channel.
const topicOf = (channel: Channel | typeof ALL): string => (channel === 'events' ? 'events:channel' : channel)
/** Request-log entries a fresh /stream/logs client gets first. */
const RECENT_REQUESTS = 50

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

const eventsMessage = (logs: EventView[], timestamp = now()): EventsMessage => ({ timestamp, logs, count: logs.length })
const logsMessage = (logs: RequestLogEntry[], timestamp = now()): LogsMessage => ({ timestamp, logs, count: logs.length })

/**
 * The stats message for one line: the totals, and the most active nodes (most reports in the
 * window first) in `nodes` and `providers`, as many as fit, at most STATS_NODES_MAX.
 */
export function boundedStats(full: Omit<StatsMessage, 'providers_total'>): StatsMessage {
  const active = [...full.nodes].sort((a, b) => b.reports - a.reports || a.node_id - b.node_id)
  const base: StatsMessage = { ...full, nodes: [], providers: [], providers_total: full.total_nodes }
  const n = fittingPrefix(active, base, a => jsonBytes(a) + jsonBytes({ provider_id: a.node_id, total_requests: a.reports }) + 2, STATS_NODES_MAX)
  const top = active.slice(0, n)
  return { ...base, nodes: top, providers: top.map(a => ({ provider_id: a.node_id, total_requests: a.reports })) }
}

/** A snapshot of every node as `event: nodes` messages, each one line (see NodesMessage). */
export function nodesParts(list: NodeEntry[], timestamp: number, snapshot: number): NodesMessage[] {
  const total = list.length
  const runs = splitForLines(list, run => ({ timestamp, nodes: run, total, snapshot, part: 0, parts: 0, offset: 0 }))
  let offset = 0
  return runs.map((nodes, i) => {
    const part = { timestamp, nodes, total, snapshot, part: i + 1, parts: runs.length, offset }
    offset += nodes.length
    return part
  })
}

/**
 * Seed 001's named-event streams. Snapshot channels (stats, nodes, heartbeat) are built once per
 * tick while anyone listens; logs and reports come from the journal after they are committed, and
 * their ids are stream positions, so a reconnect with Last-Event-ID replays what it missed.
 */
export function createChannels(deps: { db: Database, hub: Hub, registry: Registry, journal: Journal, aggregator: Aggregator, requestLog: RequestLog }, opts: ChannelOptions) {
  const { db, hub, registry, journal, aggregator, requestLog } = deps
  let pendingEvents: JournalEntry[] = []
  let snapshotSeq = 0
  // The newest position whose entries, and all before it, have been published: the id snapshots
  // carry, so resuming from a snapshot's id never skips a log row still waiting for its batch.
  let published = journal.position()

  const listening = (channel: Channel) => hub.count(topicOf(channel)) + hub.count(ALL) > 0
  function publish<C extends Channel>(channel: C, data: ChannelMessages[C], position = published, meta: MessageMeta = {}): void {
    const buf = encodeSse(data, { id: eventId(position), event: channel })
    hub.publish(topicOf(channel), buf, { channel, ...meta })
    hub.publish(ALL, buf, { channel, ...meta })
  }

  // Each snapshot is a list of messages, each one line: stats is one, nodes as many parts as it takes.
  const snapshots = {
    stats: (): StatsMessage[] => [boundedStats({ timestamp: now(), ...aggregator.snapshot() })],
    nodes: (): NodesMessage[] => {
      const at = Date.now()
      // Seed 001's node entry keeps its own fields: seed 000's `state` addition is not part of it.
      const list = registry.list().map((n) => {
        const { state: _state, ...stats } = toNodeStats(n, at, opts)
        return { ...stats, kind: n.kind, labels: n.labels }
      })
      return nodesParts(list, Math.floor(at / 1000), ++snapshotSeq)
    },
  }
  const publishSnapshot = (channel: 'stats' | 'nodes') => snapshots[channel]().forEach(m => publish(channel, m))

  // The seed's clients listen for `heartbeat` on whatever stream they opened (its browser and
  // Python examples on /stream/stats), so the one encoded heartbeat goes to every channel's stream.
  const topics = new Set<string>([...CHANNELS.map(topicOf), ALL])
  const endHeartbeat = hub.setHeartbeat(t => topics.has(t), () => encodeSse({ timestamp: now() } satisfies HeartbeatMessage, { id: eventId(published), event: 'heartbeat' }), { channel: 'heartbeat' })

  /** Publishes the waiting event-log rows as `events` messages, as many as their lines take. */
  function flushEvents(): void {
    if (!pendingEvents.length) return
    const batch = pendingEvents
    pendingEvents = []
    published = Math.max(published, batch.at(-1)!.row.id)
    if (!listening('events')) return
    const rows = batch.flatMap(e => (e.kind === 'log' ? [toEventView(e.row)] : []))
    for (const run of splitForLines(rows, r => eventsMessage(r))) {
      const last = run.at(-1)!.id
      // A client still replaying gets only the part of this run its replay did not cover.
      const remainder = (after: number) => {
        const rest = run.filter(e => e.id > after)
        return rest.length ? encodeSse(eventsMessage(rest), { id: eventId(last), event: 'events' }) : null
      }
      publish('events', eventsMessage(run), last, { remainder })
    }
  }

  /** Publishes written request-log entries as `logs` messages (not replayable: they carry the snapshots' id). */
  const offWrite = requestLog.onWrite((entries) => {
    if (!listening('logs')) return
    for (const run of splitForLines(entries, r => logsMessage(r))) publish('logs', logsMessage(run))
  })

  const unsubscribe = journal.onCommit((entries) => {
    for (const e of entries) {
      if (e.kind === 'report') {
        aggregator.record(e.row)
        // Waiting event rows go first: a client whose last id is this report's has then seen every
        // position before it, so resuming from that id cannot skip a row still in a batch.
        flushEvents()
        published = e.row.id
        if (listening('reports')) publish('reports', reportPayload(e.row, registry.get(e.row.nodeId)?.hostname ?? null), e.row.id, { position: e.row.id })
      }
      else pendingEvents.push(e)
    }
  })

  const timers = [
    setInterval(() => listening('stats') && publishSnapshot('stats'), opts.statsMs),
    setInterval(() => listening('nodes') && publishSnapshot('nodes'), opts.nodesMs),
    setInterval(flushEvents, opts.logsMs),
  ]
  timers.forEach(t => t.unref())

  /** The events and reports a client missed after `from`, up to `upTo`, in position order. */
  async function missed({ position: from = 0 }: ResumePoint, upTo: number, limit: number, channels: Channel[]): Promise<ReplayItem[]> {
    const logs = channels.includes('events')
      ? await db.select().from(events).where(and(gt(events.id, from), lte(events.id, upTo))).orderBy(asc(events.id)).limit(limit)
      : []
    const reports = channels.includes('reports')
      ? await db.select({ s: nodeSamples, hostname: nodes.hostname }).from(nodeSamples).leftJoin(nodes, eq(nodes.id, nodeSamples.nodeId))
        .where(and(gt(nodeSamples.id, from), lte(nodeSamples.id, upTo))).orderBy(asc(nodeSamples.id)).limit(limit)
      : []
    const items: ReplayItem[] = [
      ...logs.map(row => ({ position: row.id, event: 'events', channel: 'events', data: eventsMessage([toEventView(row)], unix(row.createdAt)) })),
      ...reports.map(({ s, hostname }) => ({ position: s.id, event: 'reports', channel: 'reports', data: reportPayload(s, hostname) })),
    ]
    return items.sort((a, b) => a.position - b.position)
  }

  return {
    /**
     * Opens a named-event stream on `channel` (or `all`). When it resumes (seed 001 resumes by id
     * only), the missed events and reports come first, then live messages without a gap or repeat.
     * A fresh client of the request log gets its newest entries first.
     */
    async open(req: IncomingMessage, res: ServerResponse, channel: Channel | typeof ALL, from: ResumePoint): Promise<void> {
      const channels: Channel[] = channel === ALL ? [...CHANNELS] : [channel]
      const fresh = from.position === undefined && from.since === undefined
      const recent = fresh && channels.includes('logs') ? await requestLog.recent(RECENT_REQUESTS) : []
      const client = await openResumable({ hub, journal }, req, res, from, {
        topic: topicOf(channel),
        replayLimit: opts.replayLimit,
        // Waiting event rows go out to the others now: the replay covers them for this client, and a
        // batch sent after its hold ends would repeat them.
        caughtUp: flushEvents,
        // A resuming client is greeted with where it resumes from: if it drops before the replay,
        // it resumes from there again rather than past what it missed.
        greeting: (_, resumeFrom) => encodeSse({ timestamp: now(), channels } satisfies ChannelConnected, { id: eventId(resumeFrom ?? published), event: 'connected', retryMs: opts.retryMs }),
        missed: (after, upTo, limit) => missed(after, upTo, limit, channels),
        reset: (reason): ResetMessage => ({ reason, message: 'Missed events cannot be replayed: reload the current state', timestamp: now() }),
      })
      // Snapshot channels start with their current state rather than waiting a tick.
      for (const c of channels) {
        if (c === 'stats' || c === 'nodes') snapshots[c]().forEach(m => hub.send(client, encodeSse(m, { id: eventId(published), event: c }), { channel: c }))
      }
      for (const run of recent.length ? splitForLines(recent, r => logsMessage(r)) : []) {
        hub.send(client, encodeSse(logsMessage(run), { id: eventId(published), event: 'logs' }), { channel: 'logs' })
      }
    },

    /**
     * Hub figures as seed 001 reports them: `subscriptions` per channel, a /stream/all client
     * counting for each of the six (it receives them all), seed 000/002 streams under their own
     * channel (seed 002's event stream under `events`, beside /stream/events); `streams` the
     * connections per hub topic.
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
      offWrite()
    },
  }
}

export type Channels = ReturnType<typeof createChannels>

const running = startedInstance<Channels>()
/** The running seed 001 channels; 503 while there are none. */
export const useChannels = running.use
/** Sets (or, with undefined, clears) the running channels. */
export const setChannels = running.set
