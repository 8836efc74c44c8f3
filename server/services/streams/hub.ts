import type { IncomingMessage, ServerResponse } from 'node:http'
import type { DisconnectReason } from '../../../shared/contracts/seed001'
import { DomainError } from '../errors'
import { describeError } from '../logSafe'
import { startedInstance } from '../started'

/** One SSE connection. */
export interface HubClient {
  id: number
  topic: string
  res: ServerResponse
  /** For snapshot topics: the newest snapshot waiting for the socket to drain (older ones are dropped). */
  pending: Buffer | null
  closed: boolean
  /** While a client replays, live messages wait here (with their stream positions). */
  held: (MessageMeta & { buf: Buffer })[] | null
  heldBytes: number
  /** When its unsent bytes first passed the buffer (cleared when the socket drains). */
  overSince: number | null
  /** When a heartbeat first found its socket not drained (cleared when it drains). */
  stalledSince: number | null
  /** Which published messages this client wants (the event stream's per-client filters); all when absent. */
  filter?: (meta: MessageMeta) => boolean
  /** The session or token the stream was opened with ("session:3", "token:7"); its revocation ends the stream. */
  credential?: string
  /** Whose stream it is ("user:3", "token:7"), for the per-user connection cap. */
  owner?: string
}

/**
 * What a published message is: its channel (for counting) and its stream position, if replayable.
 * A message spanning several positions (a batch) gives `remainder` instead: the encoding of its
 * part after a position, or null when nothing is left.
 */
export interface MessageMeta {
  channel?: string
  position?: number
  remainder?: (after: number) => Buffer | null
  uncounted?: boolean
  /** What the message is about, for clients' filters (the event stream's event). */
  subject?: unknown
}

export interface HubOptions {
  heartbeatMs: number
  /** Unsent bytes a client may hold before it is disconnected as too slow. */
  maxBufferBytes: number
  /** Connections allowed at once; past it new streams get 503. */
  maxClients?: number
  /** Connections one owner (a user, or a token without a user) may hold at once; past it new streams get 429. */
  maxClientsPerOwner?: number
  /** Whose stream a request opens (the authenticated user or token). */
  ownerOf?: (req: IncomingMessage) => string | undefined
  /** How long a socket may stay undrained before the client counts as stalled (default two heartbeats, at least the grace). */
  stallMs?: number
  /** How long a client may stay over its buffer before it counts as slow (default 2 s). */
  slowGraceMs?: number
  /** The credential a request was authenticated with, kept on its stream. */
  credentialOf?: (req: IncomingMessage) => string | undefined
  /** Which of the open streams' credentials still hold; asked on every heartbeat, the others' streams end. */
  liveCredentials?: (open: Set<string>) => Promise<Set<string>>
}

/** A topic's own heartbeat message, sent instead of the `: heartbeat` comment. */
interface Heartbeat {
  match: (topic: string) => boolean
  /** Built once per beat, for every topic it matches. */
  build: () => Buffer
  meta: MessageMeta
}

const HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'connection': 'keep-alive',
  'x-accel-buffering': 'no',
  'referrer-policy': 'no-referrer',
}
const HEARTBEAT = Buffer.from(': heartbeat\n\n')

/** The channel a topic belongs to: its part before the first ':' ("node-stats:all:5" → "node-stats"). */
export const channelOf = (topic: string): string => topic.split(':', 1)[0]!

/** Encodes one SSE message once; data is single-line JSON, so nothing in it can forge a field. */
export function encodeSse(data: unknown, opts: { event?: string, id?: string, retryMs?: number } = {}): Buffer {
  const clean = (s: string) => s.replace(/[\r\n\0]/g, '')
  let out = ''
  if (opts.retryMs !== undefined) out += `retry: ${opts.retryMs}\n`
  if (opts.id !== undefined) out += `id: ${clean(opts.id)}\n`
  if (opts.event !== undefined) out += `event: ${clean(opts.event)}\n`
  out += `data: ${JSON.stringify(data)}\n\n`
  return Buffer.from(out)
}

/**
 * The hub owns every SSE connection: a message is encoded once and the same Buffer is written to
 * every subscriber of its topic; one shared timer sends heartbeats; a subscriber whose unsent data
 * passes its buffer is disconnected, so memory stays bounded whatever clients do.
 */
export function createHub(options: HubOptions) {
  const topics = new Map<string, Set<HubClient>>()
  const topicListeners = new Set<(topic: string, subscribers: number) => void>()
  let nextId = 1
  let clients = 0
  let eventsSent = 0
  const sentByChannel = new Map<string, number>()
  const disconnects: Record<DisconnectReason, number> = { client: 0, slow: 0, ended: 0, revoked: 0, shutdown: 0 }
  const perOwner = new Map<string, number>()
  const ownerCount = (owner: string | undefined) => (owner === undefined ? 0 : perOwner.get(owner) ?? 0)
  const ownerHasCapacity = (owner: string | undefined): boolean => options.maxClientsPerOwner === undefined || ownerCount(owner) < options.maxClientsPerOwner

  function remove(client: HubClient, reason: DisconnectReason): void {
    if (client.closed) return
    client.closed = true
    clients--
    disconnects[reason]++
    if (client.owner !== undefined) {
      const left = ownerCount(client.owner) - 1
      if (left > 0) perOwner.set(client.owner, left)
      else perOwner.delete(client.owner)
    }
    const set = topics.get(client.topic)
    set?.delete(client)
    if (set && set.size === 0) topics.delete(client.topic)
    topicListeners.forEach(l => l(client.topic, set?.size ?? 0))
    if (reason === 'slow') client.res.destroy()
    else if (!client.res.writableEnded && !client.res.destroyed) client.res.end()
  }

  const grace = options.slowGraceMs ?? 2000
  const stallMs = options.stallMs ?? Math.max(grace, 2 * options.heartbeatMs)
  /**
   * A socket that has not drained for `stallMs` belongs to a client that stopped reading. Snapshot
   * streams keep only the newest snapshot for such a client, so its buffer never grows past the
   * limit `tooSlow` watches: this is what ends it.
   */
  function stalled(client: HubClient, now: number): boolean {
    if (!client.res.writableNeedDrain) {
      client.stalledSince = null
      return false
    }
    client.stalledSince ??= now
    return now - client.stalledSince > stallMs
  }
  /**
   * A client over its buffer is slow only if it stays over for the grace period (a reader that
   * keeps up drains a large message quickly) or holds four buffers' worth: memory stays bounded.
   */
  function tooSlow(client: HubClient): boolean {
    const queued = client.res.writableLength
    if (queued <= options.maxBufferBytes) return false
    client.overSince ??= Date.now()
    return Date.now() - client.overSince > grace || queued > 4 * options.maxBufferBytes
  }

  function write(client: HubClient, buf: Buffer, meta: MessageMeta = {}): void {
    if (client.closed) return
    const channel = meta.channel ?? channelOf(client.topic)
    if (client.held) {
      client.heldBytes += buf.length
      if (client.heldBytes > options.maxBufferBytes) return remove(client, 'slow')
      client.held.push({ ...meta, buf, channel })
      return
    }
    if (tooSlow(client)) return remove(client, 'slow')
    client.res.write(buf)
    if (meta.uncounted) return
    eventsSent++
    sentByChannel.set(channel, (sentByChannel.get(channel) ?? 0) + 1)
  }

  const heartbeats = new Set<Heartbeat>()

  /** Ends the streams opened with a credential that no longer holds (logged out, token or user deleted). */
  function endRevoked(liveCredentials: NonNullable<HubOptions['liveCredentials']>): void {
    const open = new Set<string>()
    for (const set of topics.values()) for (const c of set) if (c.credential) open.add(c.credential)
    if (!open.size) return
    liveCredentials(open).then((live) => {
      for (const set of [...topics.values()]) {
        for (const c of [...set]) if (c.credential && !live.has(c.credential)) remove(c, 'revoked')
      }
    }, error => console.error(`[nodepulse] checking stream credentials failed: ${describeError(error)}`))
  }

  /**
   * The one timer of every stream: drops slow clients, keeps the others' connections alive (with
   * their topic's own heartbeat message, else a comment) and ends streams whose credential was revoked.
   */
  function beat(): void {
    const built = new Map<Heartbeat, Buffer>()
    // One encoding per beat, the same bytes on every topic it is for.
    const messageOf = (h: Heartbeat): Buffer => {
      const buf = built.get(h) ?? h.build()
      built.set(h, buf)
      return buf
    }
    const now = Date.now()
    for (const [topic, set] of [...topics]) {
      const own = [...heartbeats].find(h => h.match(topic))
      for (const c of [...set]) {
        if (tooSlow(c) || stalled(c, now)) remove(c, 'slow')
        else if (!own) {
          if (!c.res.writableNeedDrain) c.res.write(HEARTBEAT)
        }
        else if (!c.filter || c.filter(own.meta)) write(c, messageOf(own), own.meta)
      }
    }
    if (options.liveCredentials) endRevoked(options.liveCredentials)
  }
  const timer = setInterval(beat, options.heartbeatMs)
  timer.unref()

  return {
    /** False when a new stream would pass the connection limit (answer 503 before streaming). */
    hasCapacity(): boolean {
      return options.maxClients === undefined || clients < options.maxClients
    },

    /** False when `owner` already holds as many streams as one owner may (answer 429 before streaming). */
    ownerHasCapacity,

    /**
     * Takes over a request's response as an SSE stream on `topic` and writes `first` messages to it.
     * With `hold`, live messages are queued until `release()` (replay first, then live, no gap).
     */
    subscribe(req: IncomingMessage, res: ServerResponse, topic: string, first: Buffer[] = [], opts: { hold?: boolean, filter?: HubClient['filter'] } = {}): HubClient {
      const owner = options.ownerOf?.(req)
      // Checked again here, where the slot is taken: parallel opens all passed the route's early check.
      if (!ownerHasCapacity(owner)) throw tooManyStreams()
      if (owner !== undefined) perOwner.set(owner, ownerCount(owner) + 1)
      res.writeHead(200, HEADERS)
      res.flushHeaders()
      req.socket.setNoDelay(true)
      req.socket.setTimeout(0)
      clients++
      const client: HubClient = {
        id: nextId++, topic, res, pending: null, closed: false, held: null, heldBytes: 0, overSince: null, stalledSince: null,
        filter: opts.filter, credential: options.credentialOf?.(req), owner,
      }
      let set = topics.get(topic)
      if (!set) topics.set(topic, (set = new Set()))
      set.add(client)
      res.on('close', () => remove(client, 'client'))
      res.on('drain', () => {
        client.overSince = null
        client.stalledSince = null
        const pending = client.pending
        client.pending = null
        if (pending) write(client, pending)
      })
      // The greeting is not an event of any channel.
      for (const buf of first) write(client, buf, { uncounted: true })
      if (opts.hold) client.held = []
      topicListeners.forEach(l => l(topic, set.size))
      // The caller hung up while the request was being authenticated: its 'close' has passed, so
      // it would hold its slots for good.
      if (res.destroyed) remove(client, 'client')
      return client
    },

    /** Writes one encoded message to every subscriber of a topic (whose filter, if any, accepts it). */
    publish(topic: string, buf: Buffer, meta: MessageMeta = {}): void {
      const set = topics.get(topic)
      if (!set) return
      for (const c of set) if (!c.filter || c.filter(meta)) write(c, buf, meta)
    },

    /** Writes directly to one client (its replay). */
    send(client: HubClient, buf: Buffer, meta?: MessageMeta): void {
      if (client.held) {
        const held = client.held
        client.held = null
        write(client, buf, meta)
        client.held = held
      }
      else write(client, buf, meta)
    },

    /** Ends a client's hold: queued live messages past `replayedUpTo` follow its replay, in order. */
    release(client: HubClient, replayedUpTo: number): void {
      const held = client.held ?? []
      client.held = null
      client.heldBytes = 0
      for (const m of held) {
        const buf = m.remainder ? m.remainder(replayedUpTo) : m.position === undefined || m.position > replayedUpTo ? m.buf : null
        if (buf) write(client, buf, { channel: m.channel })
      }
    },

    /**
     * Publishes a snapshot that supersedes the previous one: a client whose socket has not drained
     * keeps only the newest snapshot queued instead of every one.
     */
    publishSnapshot(topic: string, buf: Buffer): void {
      const set = topics.get(topic)
      if (!set) return
      for (const c of set) {
        if (c.res.writableNeedDrain && !c.held) c.pending = buf
        else write(c, buf)
      }
    },

    /** Ends every stream of the topics `match` accepts (e.g. a deleted node's). */
    endTopics(match: (topic: string) => boolean, last?: Buffer): void {
      for (const [topic, set] of [...topics]) {
        if (!match(topic)) continue
        for (const c of [...set]) {
          if (last) c.res.write(last)
          remove(c, 'ended')
        }
      }
    },

    /**
     * Gives the topics `match` accepts their own heartbeat message instead of the comment (seed
     * 001's `event: heartbeat` with an id, seed 002's `{event_type: 'heartbeat'}`).
     */
    setHeartbeat(match: (topic: string) => boolean, build: () => Buffer, meta: MessageMeta = {}): () => void {
      const h: Heartbeat = { match, build, meta }
      heartbeats.add(h)
      return () => heartbeats.delete(h)
    },

    /** Subscribers of a topic right now. */
    count(topic: string): number {
      return topics.get(topic)?.size ?? 0
    },

    /** Called whenever a topic gains or loses a subscriber. */
    onTopicChange(listener: (topic: string, subscribers: number) => void): () => void {
      topicListeners.add(listener)
      return () => topicListeners.delete(listener)
    },

    /** Totals for /api/realtime/hub/stats. */
    stats() {
      const subscriptions: Record<string, number> = {}
      let total = 0
      for (const [topic, set] of topics) {
        subscriptions[topic] = set.size
        total += set.size
      }
      return { total_clients: total, subscriptions, events_sent: eventsSent, events_sent_by_channel: Object.fromEntries(sentByChannel), disconnects: { ...disconnects } }
    },

    /** Closes every stream (server shutdown). */
    close(): void {
      clearInterval(timer)
      for (const set of [...topics.values()]) for (const c of [...set]) remove(c, 'shutdown')
    },
  }
}

/** 429 for a stream past NODEPULSE_SSE_MAX_CLIENTS_PER_USER. */
export function tooManyStreams(): DomainError {
  return new DomainError('Too many streams are open for this user or token (NODEPULSE_SSE_MAX_CLIENTS_PER_USER): close one, or try again later', 429, 10)
}

export type Hub = ReturnType<typeof createHub>

const running = startedInstance<Hub>()
/** The running hub; 503 while there is none. */
export const useHub = running.use
/** Sets (or, with undefined, clears) the running hub. */
export const setHub = running.set
