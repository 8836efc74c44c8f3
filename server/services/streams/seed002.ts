import type { IncomingMessage, ServerResponse } from 'node:http'
import type { EventFilter, EventStreamConnected, EventStreamHeartbeat, EventStreamReset, EventView } from '../../../shared/contracts/seed002'
import type { ResetReason } from '../../../shared/contracts/seed001'
import { matchesFilter, toEventView, type EventLog } from '../events'
import type { Journal } from '../journal'
import { startedInstance } from '../started'
import { encodeSse, type Hub, type MessageMeta } from './hub'
import { encodeItem, eventId, openResumable, type ReplayItem, type ResumePoint } from './replay'

export interface EventStreamOptions {
  /** Most events replayed per reconnect; a client further behind gets `reset`. */
  replayLimit: number
  retryMs: number
}

const TOPIC = 'events'
const now = () => Math.floor(Date.now() / 1000)

const isEventView = (v: unknown): v is EventView => typeof v === 'object' && v !== null && 'event_type' in v && 'severity' in v

/** An event as the stream carries it: `event: <event_type>`, its position as id. */
const itemOf = (view: EventView): ReplayItem => ({ position: view.id, event: view.event_type, channel: TOPIC, data: view })

const resetMessages = (replayLimit: number): Record<ResetReason, string> => ({
  unknown_position: 'This event id is not known here: reload the event history',
  position_expired: 'Events after this id were deleted by retention: reload the event history',
  too_far_behind: `More than ${replayLimit} events were missed: reload the event history`,
})

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
      const item = itemOf(toEventView(e.row))
      hub.publish(TOPIC, encodeItem(item), { channel: TOPIC, position: item.position, subject: item.data })
    }
  })

  const endHeartbeat = hub.setHeartbeat(t => t === TOPIC, () => encodeSse({ event_type: 'heartbeat', timestamp: now() } satisfies EventStreamHeartbeat, { event: 'heartbeat' }), { channel: 'heartbeat' })

  return {
    /**
     * Opens the stream for one client: `connected` first, then (when resuming) the events it
     * missed while live ones wait, then live events that pass its filter.
     */
    async open(req: IncomingMessage, res: ServerResponse, filter: EventFilter, from: ResumePoint): Promise<void> {
      await openResumable({ hub, journal }, req, res, from, {
        topic: TOPIC,
        filter: (meta: MessageMeta) => !isEventView(meta.subject) || matchesFilter(filter, meta.subject),
        replayLimit: opts.replayLimit,
        // The greeting's id is where a client that drops before any event resumes from.
        greeting: (upTo, resumeFrom) => encodeSse({ event_type: 'connected', timestamp: now(), filters: filter } satisfies EventStreamConnected, {
          id: from.since ? undefined : eventId(resumeFrom ?? upTo), event: 'connected', retryMs: opts.retryMs,
        }),
        missed: async (after, upTo, limit) => (await log.after(filter, after, upTo, limit)).map(row => itemOf(toEventView(row))),
        reset: (reason): EventStreamReset => ({
          event_type: 'reset', reason, message: resetMessages(opts.replayLimit)[reason], timestamp: now(),
        }),
      })
    },

    close(): void {
      endHeartbeat()
      unsubscribe()
    },
  }
}

export type EventStream = ReturnType<typeof createEventStream>

const running = startedInstance<EventStream>()
/** The running seed 002 event stream; 503 while there is none. */
export const useEventStream = running.use
/** Sets (or, with undefined, clears) the running event stream. */
export const setEventStream = running.set
