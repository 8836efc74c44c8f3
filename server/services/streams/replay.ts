import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ResetReason } from '../../../shared/contracts/seed001'
import type { Journal } from '../journal'
import { encodeSse, type Hub, type HubClient } from './hub'

/** `<unix-seconds>-<stream position>`: the id a client sends back as Last-Event-ID. */
export const eventId = (position: number) => `${Math.floor(Date.now() / 1000)}-${position}`

/** The stream position in an id of ours, or undefined when it is not one. */
export function parseEventId(id: string): number | undefined {
  const m = /^\d+-(\d+)$/.exec(id.trim())
  return m ? Number(m[1]) : undefined
}

/** Where a reconnecting client resumes: after a stream position, or from a time (`?since=`); neither on a fresh start. */
export interface ResumePoint { position?: number, since?: Date }

// Past every position this server hands out: an id that is not ours resumes from here and so gets
// `reset: unknown_position` instead of a replay from a guessed place.
const UNKNOWN = Number.MAX_SAFE_INTEGER

/**
 * Where a client resumes: the `Last-Event-ID` header (a browser's own reconnect), else
 * `?lastEventId=` (a new EventSource), else `?since=`. An empty id is a fresh start; an id that is
 * not ours counts as unknown. With `barePositions` (the event stream) a plain number is a position
 * too: an event's `id`, as the history gives it.
 */
export function resumePoint(header: string | undefined, query: { lastEventId?: string, since?: Date }, opts: { barePositions?: boolean } = {}): ResumePoint {
  const id = header ?? query.lastEventId
  if (id === undefined || id === '') return { since: query.since }
  const bare = opts.barePositions && /^\d{1,15}$/.test(id) ? Number(id) : undefined
  return { position: parseEventId(id) ?? bare ?? UNKNOWN }
}

/** One missed message: its stream position, its `event:` name, the hub channel it counts under, and its data. */
export interface ReplayItem { position: number, event: string, channel: string, data: unknown }

/** Encodes a replayable message as it goes out live and in a replay: its position as id, its `event:` name. */
export const encodeItem = (item: ReplayItem) => encodeSse(item.data, { id: eventId(item.position), event: item.event })

/** What a resumable stream supplies; `openResumable` does the rest. */
export interface ResumableStream {
  topic: string
  filter?: HubClient['filter']
  /** Most items replayed; a client further behind gets `reset: too_far_behind`. */
  replayLimit: number
  /**
   * The first message; `upTo` is the newest position a replay covers, `resumeFrom` the position a
   * replay starts after (absent for a fresh start, a `?since=` resume or a reset). A resuming
   * client is greeted with `resumeFrom`: one that drops before the replay resumes from there again.
   */
  greeting: (upTo: number, resumeFrom?: number) => Buffer
  /** Runs for a resuming client once the journal is caught up, before the client subscribes. */
  caughtUp?: () => void
  /** What a client missed after `from`, up to `upTo`, in position order; at most `limit` from each table. */
  missed: (from: ResumePoint, upTo: number, limit: number) => Promise<ReplayItem[]>
  /** The `reset` message's data. */
  reset: (reason: ResetReason) => unknown
}

/** Why a resume position cannot be replayed: not known here (yet), or deleted by retention (`purgedUpTo`). */
function unreplayable(position: number | undefined, upTo: number, purgedUpTo: number): ResetReason | undefined {
  if (position === undefined) return undefined
  if (position > upTo) return 'unknown_position'
  if (position < purgedUpTo) return 'position_expired'
  return undefined
}

/**
 * Opens a stream a client may resume: the greeting, then, when it resumes, what it missed (or a
 * `reset` when that cannot be replayed) while the hub holds live messages, which follow once the
 * replay is sent, so the client sees every position once, in order.
 */
export async function openResumable(deps: { hub: Hub, journal: Journal }, req: IncomingMessage, res: ServerResponse, from: ResumePoint, stream: ResumableStream): Promise<HubClient> {
  const { hub, journal } = deps
  const resuming = from.position !== undefined || from.since !== undefined
  if (resuming) {
    // An id from another instance may be ahead of this one: read what it committed first.
    if (from.position !== undefined && from.position > journal.position()) await journal.catchUp()
    stream.caughtUp?.()
  }
  const purgedUpTo = from.position === undefined ? 0 : await journal.purgedUpTo()
  // Everything up to `upTo` is committed and readable; anything later arrives live (held meanwhile).
  const upTo = journal.position()
  const cannot = unreplayable(from.position, upTo, purgedUpTo)
  const client = hub.subscribe(req, res, stream.topic, [stream.greeting(upTo, cannot ? undefined : from.position)], { hold: resuming, filter: stream.filter })
  if (!resuming) return client
  try {
    const items = cannot ? [] : await stream.missed(from, upTo, stream.replayLimit + 1)
    const reason = cannot ?? (items.length > stream.replayLimit ? 'too_far_behind' : undefined)
    if (reason) hub.send(client, encodeSse(stream.reset(reason), { id: eventId(upTo), event: 'reset' }))
    else for (const item of items) hub.send(client, encodeItem(item), { channel: item.channel, position: item.position })
  }
  finally {
    hub.release(client, upTo)
  }
  return client
}
