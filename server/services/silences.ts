import { and, asc, desc, eq, gt, isNull, lte, not, or } from 'drizzle-orm'
import { eventLabels } from '../../shared/contracts/channels'
import { INCIDENT_KIND_TYPES, INCIDENT_KINDS, type IncidentKind } from '../../shared/contracts/incidents'
import {
  type CreateSilenceBody, endProblem, isSilenceEvent, parseLabel, type SilenceMark, type SilenceState, type SilenceView, type UpdateSilenceBody,
} from '../../shared/contracts/silences'
import type { Database } from '../db'
import { silences, type IncidentRow, type SilenceRow } from '../db/schema'
import { ConflictError, InvalidFieldError, NotFoundError } from './errors'
import type { EventLog, NewEvent } from './events'
import type { Journal } from './journal'
import { describeError } from './logSafe'
import type { Registry } from './registry'
import { startedInstance } from './started'

/** What a silence looks at in an event (an incident's events carry their kind in `data.incident_kind`). */
export interface SilenceFacts {
  type: string
  nodeId?: number | null
  clusterId?: string | null
  data?: Record<string, unknown>
}

/** What a silence looks at in an incident: its node, cluster and kind, as its own events carry them. */
export const incidentFacts = (i: Pick<IncidentRow, 'kind' | 'nodeId' | 'clusterId'>): SilenceFacts =>
  ({ type: 'incident_opened', nodeId: i.nodeId, clusterId: i.clusterId, data: { incident_kind: i.kind } })

type Matchers = Pick<SilenceRow, 'nodeIds' | 'label' | 'eventTypes'>
type Window = Pick<SilenceRow, 'startsAt' | 'endsAt' | 'endedAt'>

/**
 * The longest the window timer sleeps when instances share the database: a safety net re-reads the
 * silences at least this often. Alone (the embedded database) every change is made here and re-read
 * at once, so the timer sleeps until the next window starts or ends, a day at most (setTimeout's
 * limit is 24.8 days).
 */
const MAX_SLEEP_MS = 60_000
const MAX_SLEEP_ALONE_MS = 86_400_000
/** Expired silences the list shows at most. */
const MAX_EXPIRED = 200

const isIncidentKind = (v: unknown): v is IncidentKind => typeof v === 'string' && (INCIDENT_KINDS as readonly string[]).includes(v)

/** The types an event counts as: its own and, for an incident's own events, the types that open and resolve its kind. */
export function typesOf(e: SilenceFacts): readonly string[] {
  const kind = e.data?.incident_kind
  return isIncidentKind(kind) ? [e.type, ...INCIDENT_KIND_TYPES[kind]] : [e.type]
}

/**
 * Whether every matcher a silence gives matches an event: its node among `nodeIds`, its node's
 * labels (or, for `cluster=…`, the event's cluster) carrying `label`, one of its types in `eventTypes`.
 */
export function silenceMatches(s: Matchers, e: SilenceFacts, labels: Record<string, string>): boolean {
  if (s.nodeIds.length && (e.nodeId == null || !s.nodeIds.includes(e.nodeId))) return false
  if (s.label) {
    const [name, value] = parseLabel(s.label)
    if (labels[name] !== value && !(name === 'cluster' && e.clusterId === value)) return false
  }
  return !s.eventTypes.length || typesOf(e).some(t => s.eventTypes.includes(t))
}

/** When a silence stops muting (ms): its end, or earlier when ended early. */
export const silenceEnd = (s: Window): number => Math.min(s.endsAt.getTime(), s.endedAt?.getTime() ?? Number.POSITIVE_INFINITY)

/** Where a silence stands at `now`. */
export function silenceState(s: Window, now: number): SilenceState {
  if (now >= silenceEnd(s)) return 'expired'
  return now < s.startsAt.getTime() ? 'scheduled' : 'active'
}

/** A silence as the API shows it. */
export function toSilenceView(row: SilenceRow, now = Date.now()): SilenceView {
  return {
    id: row.id, node_ids: row.nodeIds, label: row.label, event_types: row.eventTypes,
    starts_at: row.startsAt.toISOString(), ends_at: row.endsAt.toISOString(), ended_at: row.endedAt?.toISOString() ?? null,
    reason: row.reason, created_by: row.createdBy, created_at: row.createdAt.toISOString(), state: silenceState(row, now),
  }
}

/** What a silence mutes, in words: "nodes 3, 4 · label env=prod · types node_unreachable". */
function describeMatchers(s: Matchers): string {
  return [
    s.nodeIds.length ? `${s.nodeIds.length === 1 ? 'node' : 'nodes'} ${s.nodeIds.join(', ')}` : '',
    s.label ? `label ${s.label}` : '',
    s.eventTypes.length ? `types ${s.eventTypes.join(', ')}` : '',
  ].filter(Boolean).join(' · ')
}

/** A time in an event message: to the minute, in UTC (the log is read from anywhere; `data` keeps the exact ISO time). */
const messageTime = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`

/** The event a silence's change is logged as: info, never silenced, and what wakes other instances to re-read. */
function silenceEvent(type: string, row: SilenceRow, message: string, data: Record<string, unknown> = {}): NewEvent {
  return {
    type, severity: 'info', resourceType: 'silence', message,
    data: { silence_id: row.id, reason: row.reason, matchers: describeMatchers(row), starts_at: row.startsAt.toISOString(), ends_at: row.endsAt.toISOString(), ...data },
  }
}

const ORDER: Record<SilenceState, number> = { active: 0, scheduled: 1, expired: 2 }

/** Silences not over at `now`: active or scheduled. */
const notOver = (now: Date) => and(gt(silences.endsAt, now), or(isNull(silences.endedAt), gt(silences.endedAt, now)))!

/**
 * Silences: the API's reads and writes, and the in-memory check the event log runs on every event
 * (`silencing`). The check reads only the silences not yet over, kept in memory and re-read on every
 * change, including other instances' (each change is logged as a silence_* event, which the
 * journal announces on every instance), and at least once a minute when instances share the database. Windows need nobody at their
 * start or end: the check compares times, and the leader logs silence_started and silence_ended once.
 */
export function createSilences(db: Database, registry: Registry, opts: { isLeader: () => boolean, shared?: boolean }) {
  let current: SilenceRow[] = []
  let log: EventLog | undefined
  let loading: Promise<void> = Promise.resolve()
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = true
  let unsubscribe: (() => void) | undefined

  const notFound = (id: number) => new NotFoundError(`Silence ${id} not found`)

  /** Reads the silences not yet over. */
  async function load(): Promise<void> {
    const now = new Date()
    current = await db.select().from(silences).where(notOver(now)).orderBy(asc(silences.id))
    schedule()
  }

  /** Re-reads the silences; reads run one after another, so the newest read is the one kept. */
  function reload(): Promise<void> {
    loading = loading.then(load, load)
    return loading
  }

  /** Wakes at the next start or end of a window (or after MAX_SLEEP_MS, or MAX_SLEEP_ALONE_MS alone). */
  function schedule(): void {
    clearTimeout(timer)
    if (stopped) return
    const now = Date.now()
    const next = Math.min(...current.map(s => (s.startsAt.getTime() > now ? s.startsAt.getTime() : silenceEnd(s))), now + (opts.shared === false ? MAX_SLEEP_ALONE_MS : MAX_SLEEP_MS))
    timer = setTimeout(() => void atBoundary(), Math.max(0, next - now) + 5)
    timer.unref()
  }

  /** At a window's start or end: the leader logs it, every instance re-reads. */
  async function atBoundary(): Promise<void> {
    try {
      if (opts.isLeader()) await logBoundaries()
      await reload()
    }
    catch (error) {
      console.error(`[nodepulse] silences: ${describeError(error).split('\n')[0]}`)
      schedule()
    }
  }

  /** Logs each window that has started or ended and was not logged yet; the flag taken first makes it once across instances. */
  async function logBoundaries(): Promise<void> {
    const now = new Date()
    const started = await db.update(silences).set({ startLogged: true })
      .where(and(eq(silences.startLogged, false), lte(silences.startsAt, now))).returning()
    for (const row of started) {
      if (silenceEnd(row) > now.getTime()) await log?.record(silenceEvent('silence_started', row, `Silence #${row.id} started (${describeMatchers(row)}): ${row.reason}`))
    }
    const ended = await db.update(silences).set({ endLogged: true })
      .where(and(eq(silences.endLogged, false), or(lte(silences.endsAt, now), lte(silences.endedAt, now)))).returning()
    for (const row of ended) await log?.record(silenceEvent('silence_ended', row, `Silence #${row.id} ended (${describeMatchers(row)}): ${row.reason}`))
  }

  async function find(id: number): Promise<SilenceRow> {
    const [row] = await db.select().from(silences).where(eq(silences.id, id))
    if (!row) throw notFound(id)
    return row
  }

  /** Logs a change and re-reads, so the answer's caller finds the change in force here at once. */
  async function changed(e: NewEvent): Promise<void> {
    await log?.record(e)
    await reload()
  }

  return {
    /** The mark of the first silence active at `at` that matches an event, or null; silence_* events are never silenced. */
    silencing(e: SilenceFacts, at = Date.now()): SilenceMark | null {
      if (isSilenceEvent(e.type)) return null
      const labels = e.nodeId == null ? {} : eventLabels(registry.get(e.nodeId)?.labels, e.data) ?? {}
      const s = current.find(s => s.startsAt.getTime() <= at && at < silenceEnd(s) && silenceMatches(s, e, labels))
      return s ? { id: s.id, reason: s.reason } : null
    },

    /** Silences in one state, or all: active first (soonest end first), then scheduled (soonest start first), then the newest expired. */
    async list(state?: SilenceState): Promise<SilenceView[]> {
      const now = new Date()
      const live = state === 'expired' ? [] : await db.select().from(silences).where(notOver(now))
      const over = state && state !== 'expired' ? [] : await db.select().from(silences).where(not(notOver(now))).orderBy(desc(silences.id)).limit(MAX_EXPIRED)
      const views = [...live, ...over].map(r => toSilenceView(r, now.getTime())).filter(v => !state || v.state === state)
      const at = (v: SilenceView) => (v.state === 'scheduled' ? Date.parse(v.starts_at) : Date.parse(v.ended_at ?? v.ends_at) * (v.state === 'expired' ? -1 : 1))
      return views.sort((a, b) => ORDER[a.state] - ORDER[b.state] || at(a) - at(b))
    },

    /** One silence; 404 when there is none. */
    get: async (id: number): Promise<SilenceView> => toSilenceView(await find(id)),

    /** Adds a silence (422 naming a node that does not exist), logs silence_created and puts it in force. */
    async create(body: CreateSilenceBody, by: string): Promise<SilenceView> {
      const unknown = body.node_ids.find(id => !registry.get(id))
      if (unknown !== undefined) throw new InvalidFieldError('node_ids', `node ${unknown} does not exist`)
      const startsAt = body.starts_at ?? new Date()
      const now = Date.now()
      const [row] = await db.insert(silences).values({
        nodeIds: [...new Set(body.node_ids)], label: body.label, eventTypes: [...new Set(body.event_types)], startsAt, endsAt: body.ends_at,
        reason: body.reason, createdBy: by, startLogged: startsAt.getTime() <= now,
      }).returning()
      const view = toSilenceView(row!)
      const when = view.state === 'scheduled' ? `scheduled from ${messageTime(row!.startsAt)}` : 'active'
      await changed(silenceEvent('silence_created', row!, `${by} created silence #${row!.id}, ${when} until ${messageTime(row!.endsAt)} (${describeMatchers(row!)}): ${row!.reason}`, { created_by: by }))
      return view
    },

    /** Changes an unexpired silence's end and/or reason (409 once it has expired; 422 for an end not after its start). */
    async update(id: number, body: UpdateSilenceBody, by: string): Promise<SilenceView> {
      const row = await find(id)
      if (silenceState(row, Date.now()) === 'expired') throw new ConflictError(`Silence ${id} has expired; create a new one instead`)
      if (body.ends_at) {
        const problem = endProblem(body.ends_at, Math.max(row.startsAt.getTime(), Date.now()))
        if (problem) throw new InvalidFieldError('ends_at', problem)
      }
      const [updated] = await db.update(silences).set({ endsAt: body.ends_at ?? row.endsAt, reason: body.reason ?? row.reason }).where(eq(silences.id, id)).returning()
      await changed(silenceEvent('silence_changed', updated!, `${by} changed silence #${id}: until ${messageTime(updated!.endsAt)}, ${updated!.reason}`, { changed_by: by }))
      return toSilenceView(updated!)
    },

    /** Ends a silence now (a scheduled one never starts); ending an expired one changes nothing. */
    async end(id: number, by: string): Promise<SilenceView> {
      const now = new Date()
      const [row] = await db.update(silences).set({ endedAt: now, startLogged: true, endLogged: true })
        .where(and(eq(silences.id, id), notOver(now))).returning()
      if (!row) return toSilenceView(await find(id))
      await changed(silenceEvent('silence_ended', row, `${by} ended silence #${id} (${describeMatchers(row)}): ${row.reason}`, { ended_by: by }))
      return toSilenceView(row)
    },

    /**
     * Deletes a scheduled or expired silence. An active one is refused (409): end it first, so the
     * end is logged. Events it muted keep their mark, which carries its id and reason.
     */
    async remove(id: number, by: string): Promise<void> {
      const row = await find(id)
      if (silenceState(row, Date.now()) === 'active') throw new ConflictError(`Silence ${id} is active: end it first (POST /api/v1/silences/${id}/end)`)
      const [deleted] = await db.delete(silences).where(eq(silences.id, id)).returning()
      if (!deleted) throw notFound(id)
      await changed(silenceEvent('silence_deleted', deleted, `${by} deleted silence #${id} (${describeMatchers(deleted)}): ${deleted.reason}`, { deleted_by: by }))
    },

    /** Reads the silences and follows their changes: this instance's and, through the journal, other instances'. */
    async start(eventLog: EventLog, journal: Journal): Promise<void> {
      log = eventLog
      stopped = false
      unsubscribe = journal.onCommit((entries) => {
        if (entries.some(e => e.kind === 'log' && isSilenceEvent(e.row.type))) void reload().catch(error => console.error(`[nodepulse] silences: ${describeError(error)}`))
      })
      await reload()
      if (opts.isLeader()) await logBoundaries()
    },

    /** Stops following (the timer and the journal). */
    async stop(): Promise<void> {
      stopped = true
      clearTimeout(timer)
      unsubscribe?.()
      await loading.catch(() => {})
    },
  }
}

export type Silences = ReturnType<typeof createSilences>

const running = startedInstance<Silences>()
/** The running silences service (503 until start-up has finished). */
export const useSilences = running.use
/** Publishes the running silences service (start-up) or withdraws it (stop). */
export const setSilences = running.set
