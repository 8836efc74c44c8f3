import type { IncomingMessage, ServerResponse } from 'node:http'
import type { EventFilter, EventView } from '../../shared/contracts/seed002'
import { eventId } from './channels'
import { matchesFilter, toEventView, type EventLog } from './events'
import { encodeSse, type Hub, type MessageMeta } from './hub'
import type { Journal } from './journal'

export interface EventStreamOptions {
  heartbeatMs: number
  /** Most events replayed per reconnect; a client further behind gets `reset`. */
  replayLimit: number
  retryMs: number
}

/** Where a reconnecting client resumes: after a stream position (Last-Event-ID) or from a time (`?since=`). */
export interface ResumeFrom { position?: number, since?: Date }

const TOPIC = 'events'
const now = () => Math.floor(Date.now() / 1000)

const isEventView = (v: unknown): v is EventView => typeof v === 'object' && v !== null && 'event_type' in v && 'severity' in v

/**
 * Seed 002's event stream: every persisted event, live, as `event: <event_type>` with the event as
 * JSON. Each event is encoded once for all subscribers; a subscriber's filters only pick which of
 * those buffers it gets. Ids are stream positions, so Last-Event-ID (or `?since=`) replays what a
 * client missed, exactly once and in order, before the live events.
 */
export function createEventStream(deps: { hub: Hub, journal: Journal, log: EventLog }, opts: EventStreamOptions) {
  const { hub, journal, log } = deps

  const unsubscribe = journal.onCommit((entries) => {
    if (!hub.count(TOPIC)) return
    for (const e of entries) {
      if (e.kind !== 'log') continue
      const view = toEventView(e.row)
      hub.publish(TOPIC, encodeSse(view, { id: eventId(view.id), event: view.event_type }), { channel: TOPIC, position: view.id, subject: view })
    }
  })

  const heartbeat = setInterval(() => {
    if (hub.count(TOPIC)) hub.publish(TOPIC, encodeSse({ event_type: 'heartbeat', timestamp: now() }, { event: 'heartbeat' }), { channel: 'heartbeat' })
  }, opts.heartbeatMs)
  heartbeat.unref()

  function reset(reason: string, message: string, position: number): Buffer {
    return encodeSse({ event_type: 'reset', reason, message, timestamp: now() }, { id: eventId(position), event: 'reset' })
  }

  return {
    /**
     * Opens the stream for one client: `connected` first, then (when resuming) the events it
     * missed while live ones wait, then live events that pass its filter.
     */
    async open(req: IncomingMessage, res: ServerResponse, filter: EventFilter, from: ResumeFrom = {}): Promise<void> {
      // An id from another instance may be ahead of what this one has read yet.
      if (from.position !== undefined && from.position > journal.position()) await journal.catchUp()
      const upTo = journal.position()
      const resuming = from.position !== undefined || from.since !== undefined
      // The greeting's id is where a client that drops before any event resumes from.
      const greetingId = from.since ? undefined : eventId(from.position ?? upTo)
      const connected = encodeSse({ event_type: 'connected', timestamp: now(), filters: filter }, { id: greetingId, event: 'connected', retryMs: opts.retryMs })
      const accepts = (meta: MessageMeta) => !isEventView(meta.subject) || matchesFilter(filter, meta.subject)
      const client = hub.subscribe(req, res, TOPIC, [connected], { hold: resuming, filter: accepts })
      if (!resuming) return
      try {
        if (from.position !== undefined && from.position > upTo) {
          hub.send(client, reset('unknown_position', 'This event id is not known here: reload the event history', upTo))
        }
        else if (from.position !== undefined && from.position < await journal.purgedUpTo()) {
          hub.send(client, reset('position_expired', 'Events after this id were deleted by retention: reload the event history', upTo))
        }
        else {
          const rows = await log.after(filter, from, upTo, opts.replayLimit + 1)
          if (rows.length > opts.replayLimit) {
            hub.send(client, reset('too_far_behind', `More than ${opts.replayLimit} events were missed: reload the event history`, upTo))
          }
          else {
            for (const row of rows) {
              const view = toEventView(row)
              hub.send(client, encodeSse(view, { id: eventId(view.id), event: view.event_type }), { channel: TOPIC, position: view.id })
            }
          }
        }
      }
      finally {
        hub.release(client, upTo)
      }
    },

    close(): void {
      clearInterval(heartbeat)
      unsubscribe()
    },
  }
}

export type EventStream = ReturnType<typeof createEventStream>
