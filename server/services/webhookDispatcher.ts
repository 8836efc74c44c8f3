import { and, asc, desc, eq, gt, inArray, isNull, lte, sql } from 'drizzle-orm'
import { eventLabels } from '../../shared/contracts/channels'
import { describeDuration } from '../../shared/contracts/incidents'
import type { DeliveryView } from '../../shared/contracts/rest'
import type { EventView } from '../../shared/contracts/seed002'
import type { Database } from '../db'
import { alertStates, events, incidents, settings, webhookDeliveries, webhooks, type DeliveryRow, type EventRow, type WebhookRow } from '../db/schema'
import { toEventView } from './events'
import { toIncidentView } from './incidents'
import { describeError } from './logSafe'
import type { Journal } from './journal'
import type { Registry } from './registry'
import { startedInstance } from './started'
import { sendToChannel } from './channelSend'
import { backoffMs, isDownEvent, matchesWebhook, type SendResult, type WebhookPayload } from './webhookDelivery'
import { findWebhook, TEST_EVENT_TYPE, toDeliveryView, webhookNotFound } from './webhooks'

/** Where the leader records the newest event it has matched, so the next leader carries on from there. */
const POSITION_KEY = 'webhook_position'
/** Events older than this when first matched (after a long outage) are not sent any more. */
const MAX_EVENT_AGE_MS = 3_600_000
const SCAN_PAGE = 500

export interface DispatcherOptions {
  /** Seconds an attempt may take (NODEPULSE_WEBHOOK_TIMEOUT). */
  timeoutMs: number
  /**
   * How long a failed delivery keeps being retried (NODEPULSE_WEBHOOK_RETRY_HOURS): an attempt that
   * fails this long after the delivery was queued is its last.
   */
  retryMs: number
  /** NODEPULSE_PUBLIC_URL: messages link the node's card on the dashboard. */
  publicUrl?: string
  /** NodePulse's version, for the User-Agent header. */
  version: string
  /** How often the leader checks, in memory, for due retries and reminders. */
  pollMs?: number
  /**
   * How often the leader also reads the queue and the event log in full, whatever it knows: a
   * safety net, since committed events and due retries already wake it (see `tick`).
   */
  fullEveryMs?: number
  /** Deliveries in flight at once. */
  concurrency?: number
  /** Refuse receivers on private addresses (NODEPULSE_WEBHOOK_BLOCK_PRIVATE). */
  blockPrivate?: boolean
}

export interface DispatcherDeps {
  db: Database
  journal: Journal
  registry: Registry
  isLeader: () => boolean
  /** Whether a silence covers an event's node, labels and type now (reminders wait while it does). */
  silencedNow?: (e: EventRow) => boolean
}

/** The synthetic event a test delivery carries. */
function testEvent(hook: WebhookRow, d: DeliveryRow): EventView {
  return {
    id: 0, event_type: TEST_EVENT_TYPE, severity: 'info', node_id: null, cluster_id: null, resource_type: 'webhook',
    message: `Test delivery from NodePulse to the ${hook.type} channel "${hook.name}"`, data: { test: true },
    timestamp: Math.floor(d.createdAt.getTime() / 1000), created_at: d.createdAt.toISOString(), acknowledged_at: null, acknowledged_by: null, incident_id: null,
  }
}

/**
 * Sends webhooks. The leader matches every committed event against the enabled webhooks and
 * queues a delivery row per match (unique per webhook, event and reminder, so instances in a
 * handover cannot send one twice); the rows are the queue, so retries survive a restart or a
 * change of leader.
 */
export function createWebhookDispatcher(deps: DispatcherDeps, opts: DispatcherOptions) {
  const { db, registry } = deps
  const pollMs = opts.pollMs ?? 1000
  const fullEveryMs = opts.fullEveryMs ?? 60_000
  const concurrency = opts.concurrency ?? 8
  // A claimed row is due again after this, so a leader that dies mid-attempt loses nothing.
  const leaseMs = opts.timeoutMs + 5000
  const userAgent = `NodePulse/${opts.version}`

  /** The newest event id matched; null while this instance does not lead (or has not read it yet). */
  let position: number | null = null
  let savedPosition: number | null = null
  let chain: Promise<unknown> = Promise.resolve()
  const inflight = new Map<number, { abort: AbortController, done: Promise<unknown> }>()
  let pumping = false
  let pumpAgain = false
  let stopped = false
  let timer: ReturnType<typeof setInterval> | undefined
  let unsubscribe: (() => void) | undefined
  let lastError = ''
  /** When the earliest pending delivery is due (ms), as the queue last read said; 0 = read it. */
  let nextDueAt = 0
  let lastFullAt = 0
  /**
   * Whether a threshold alert may be firing: set by a threshold_exceeded event, cleared when the
   * firing states are read and none is left (and re-read on every full round), so a server without
   * firing alerts asks nothing about them each second.
   */
  let alertsMayFire = true
  /** The same for open, unacknowledged incidents (set by an incident_opened event). */
  let incidentsMayBeOpen = true

  const report = (what: string, error: unknown) => {
    const message = `${what}: ${describeError(error).split('\n')[0]}`
    // A database outage would repeat the same line every second.
    if (message !== lastError) console.error(`[nodepulse] webhooks: ${message}`)
    lastError = message
  }

  /** Runs matching and reminders one at a time. */
  const exclusive = <T>(job: () => Promise<T>): Promise<T> => {
    const result = chain.then(job)
    chain = result.catch(() => {})
    return result
  }

  /** Events whose node was in maintenance when they were announced, until matched. */
  const mutedAtCommit = new Set<number>()
  const inMaintenance = (nodeId: number | null) => nodeId !== null && registry.get(nodeId)?.maintenance === true
  // A silence active at an event's commit marked it `silenced_by`.
  const muted = (e: EventRow) => e.data.maintenance === true || e.data.silenced_by !== undefined || mutedAtCommit.has(e.id) || inMaintenance(e.nodeId)
  /** The labels of an event's node, for channels' label selectors (those the event kept when the node is gone; null for none). */
  const labelsOf = (e: EventRow): Record<string, string> | null => (e.nodeId === null ? null : eventLabels(registry.get(e.nodeId)?.labels, e.data))

  /** Whether this instance leads; on taking the lead, reads where the last leader stopped matching. */
  async function lead(): Promise<boolean> {
    if (!deps.isLeader()) {
      position = null
      mutedAtCommit.clear()
      return false
    }
    if (position === null) {
      const [row] = await db.select().from(settings).where(eq(settings.key, POSITION_KEY))
      position = row ? Number(row.value) : deps.journal.position()
    }
    return true
  }

  /** Queues a delivery for every match of every event committed after `position`. */
  async function match(): Promise<void> {
    if (!(await lead())) return
    let queued = 0
    for (;;) {
      const rows = await db.select().from(events).where(gt(events.id, position!)).orderBy(asc(events.id)).limit(SCAN_PAGE)
      if (!rows.length) break
      const hooks = await db.select().from(webhooks).where(eq(webhooks.enabled, true))
      const oldest = Date.now() - MAX_EVENT_AGE_MS
      const values = rows.filter(e => e.createdAt.getTime() >= oldest && !muted(e))
        .flatMap(e => hooks.filter(h => matchesWebhook(h, e, labelsOf(e))).map(h => ({ webhookId: h.id, eventId: e.id })))
      if (values.length) queued += (await db.insert(webhookDeliveries).values(values).onConflictDoNothing().returning({ id: webhookDeliveries.id })).length
      if (rows.some(e => e.type === 'threshold_exceeded')) alertsMayFire = true
      if (rows.some(e => e.type === 'incident_opened')) incidentsMayBeOpen = true
      position = rows.at(-1)!.id
      rows.forEach(e => mutedAtCommit.delete(e.id))
      if (rows.length < SCAN_PAGE) break
    }
    if (position !== savedPosition) {
      await db.insert(settings).values({ key: POSITION_KEY, value: String(position) })
        .onConflictDoUpdate({ target: settings.key, set: { value: String(position) } })
      savedPosition = position
    }
    if (queued) pump()
  }

  /** Each down node's newest status or reachability event, when that is still a down event. */
  async function downEvents(): Promise<EventRow[]> {
    const down = registry.list().filter(n => !n.maintenance && (n.watchedStatus === 'stale' || n.watchedReachable === false))
    if (!down.length) return []
    // Kept only if it is a down event: a node whose recovery is already logged gets no reminder,
    // whatever the registry said a moment ago.
    return (await db.selectDistinctOn([events.nodeId]).from(events).where(and(
      inArray(events.nodeId, down.map(n => n.id)),
      inArray(events.type, ['node_status_update', 'node_unreachable', 'node_reachable']),
    )).orderBy(events.nodeId, desc(events.id))).filter(isDownEvent)
  }

  /** The threshold_exceeded event of every rule still firing for a node out of maintenance (its state row goes with its recovery). */
  async function firingAlertEvents(full: boolean): Promise<EventRow[]> {
    if (!alertsMayFire && !full) return []
    const rows = await db.select({ event: events }).from(alertStates).innerJoin(events, eq(events.id, alertStates.eventId))
    alertsMayFire = rows.length > 0
    return rows.map(r => r.event).filter(e => !inMaintenance(e.nodeId))
  }

  /** The incident_opened event of every incident still open and unacknowledged (acknowledging stops the reminders). */
  async function openIncidentEvents(full: boolean): Promise<EventRow[]> {
    if (!incidentsMayBeOpen && !full) return []
    const rows = await db.select({ event: events }).from(incidents)
      .innerJoin(events, and(eq(events.incidentId, incidents.id), eq(events.type, 'incident_opened')))
      .where(and(isNull(incidents.resolvedAt), isNull(incidents.acknowledgedAt)))
    incidentsMayBeOpen = rows.length > 0
    return rows.map(r => r.event).filter(e => !inMaintenance(e.nodeId))
  }

  /**
   * Reminders: while a node stays down, a threshold alert keeps firing or an incident stays open
   * and unacknowledged, and out of maintenance and silences, its "down", threshold_exceeded or incident_opened
   * event goes again (repeat + 1) to each webhook with repeat_seconds that got it, once that long
   * has passed since the last delivery of it and that delivery is no longer pending.
   */
  async function remind(full: boolean): Promise<void> {
    const newest = [...await downEvents(), ...await firingAlertEvents(full), ...await openIncidentEvents(full)].filter(e => !deps.silencedNow?.(e))
    if (!newest.length) return
    const hooks = await db.select().from(webhooks).where(and(eq(webhooks.enabled, true), gt(webhooks.repeatSeconds, 0)))
    if (!hooks.length) return
    const last = await db.selectDistinctOn([webhookDeliveries.webhookId, webhookDeliveries.eventId]).from(webhookDeliveries)
      .where(inArray(webhookDeliveries.eventId, newest.map(e => e.id)))
      .orderBy(webhookDeliveries.webhookId, webhookDeliveries.eventId, desc(webhookDeliveries.repeat))
    const now = Date.now()
    const values = last.flatMap((d) => {
      const hook = hooks.find(h => h.id === d.webhookId)
      const event = newest.find(e => e.id === d.eventId)
      if (!hook || !event || d.state === 'pending' || !matchesWebhook(hook, event, labelsOf(event))) return []
      return d.createdAt.getTime() + hook.repeatSeconds * 1000 <= now ? [{ webhookId: d.webhookId, eventId: d.eventId, repeat: d.repeat + 1 }] : []
    })
    if (values.length && (await db.insert(webhookDeliveries).values(values).onConflictDoNothing().returning({ id: webhookDeliveries.id })).length) pump()
  }

  /** Takes up to `n` due rows: pushing their next attempt out by a lease, so no other instance takes them too. */
  async function claim(n: number): Promise<DeliveryRow[]> {
    const due = db.select({ id: webhookDeliveries.id }).from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.state, 'pending'), lte(webhookDeliveries.nextAttemptAt, new Date())))
      .orderBy(asc(webhookDeliveries.nextAttemptAt)).limit(n).for('update', { skipLocked: true })
    return db.update(webhookDeliveries).set({ nextAttemptAt: new Date(Date.now() + leaseMs) })
      .where(inArray(webhookDeliveries.id, due)).returning()
  }

  /**
   * Records an attempt's outcome; `final` (test deliveries) makes a failure final at once. A failure
   * is retried until one fails `retryMs` after the delivery was queued, so the last attempt comes
   * at least that long after the first (an hour by default: a receiver's outage, not a blip).
   */
  async function record(d: DeliveryRow, result: SendResult, final: boolean): Promise<DeliveryRow | undefined> {
    const attempts = d.attempts + 1
    const state = result.ok ? 'delivered' : final || Date.now() - d.createdAt.getTime() >= opts.retryMs ? 'failed' : 'pending'
    const [row] = await db.update(webhookDeliveries).set({
      state, attempts, responseStatus: result.status, error: result.error, durationMs: result.durationMs,
      deliveredAt: result.ok ? new Date() : null,
      nextAttemptAt: new Date(state === 'pending' ? Date.now() + backoffMs(attempts) : Date.now()),
    }).where(eq(webhookDeliveries.id, d.id)).returning()
    return row
  }

  /** What a payload says of an event's incident, as it stands now; a reminder of its opening says how long it has been open. */
  async function incidentOf(row: EventRow, repeat: number): Promise<Pick<WebhookPayload, 'incident' | 'reminder'>> {
    if (row.incidentId === null) return {}
    const [found] = await db.select().from(incidents).where(eq(incidents.id, row.incidentId))
    if (!found) return {}
    const incident = toIncidentView(found)
    if (repeat === 0 || row.type !== 'incident_opened') return { incident }
    const state = incident.state === 'open' ? 'still open after' : 'resolved after'
    return { incident, reminder: `Incident #${incident.id} ${state} ${describeDuration(incident.duration_seconds)}: ${incident.title}` }
  }

  /** Makes one attempt of a claimed delivery and records it; tracked so `stop()` can cut it short. */
  function attempt(d: DeliveryRow, final = false): Promise<DeliveryRow | undefined> {
    const abort = new AbortController()
    const done = (async () => {
      const [hook] = await db.select().from(webhooks).where(eq(webhooks.id, d.webhookId))
      if (!hook) return undefined
      const fail = (error: string) => record(d, { ok: false, status: null, error, durationMs: 0 }, true)
      let payload: WebhookPayload
      if (d.eventId === 0) {
        payload = { webhook: { id: hook.id, name: hook.name }, event: testEvent(hook, d), repeat: d.repeat }
      }
      else {
        if (!hook.enabled) return fail('the webhook was disabled before this delivery was sent')
        const [row] = await db.select().from(events).where(eq(events.id, d.eventId))
        if (!row) return fail('the event was deleted by retention before it could be sent')
        payload = { webhook: { id: hook.id, name: hook.name }, event: toEventView(row), repeat: d.repeat, ...await incidentOf(row, d.repeat) }
      }
      const node = payload.event.node_id === null ? undefined : registry.get(payload.event.node_id)
      const result = await sendToChannel(hook, payload, {
        deliveryId: d.id, nodeName: node?.hostname ?? null, publicUrl: opts.publicUrl, timeoutMs: opts.timeoutMs, userAgent, signal: abort.signal, blockPrivate: opts.blockPrivate,
      })
      if (abort.signal.aborted) {
        // Stopping: hand the row back at once for whoever leads next, without counting the attempt.
        await db.update(webhookDeliveries).set({ nextAttemptAt: new Date() }).where(eq(webhookDeliveries.id, d.id))
        return undefined
      }
      return record(d, result, final)
    })()
    inflight.set(d.id, { abort, done })
    return done.finally(() => inflight.delete(d.id))
  }

  /** Starts due deliveries while there is room, on the leader. */
  function pump(): void {
    if (pumping) {
      pumpAgain = true
      return
    }
    pumping = true
    void (async () => {
      try {
        do {
          pumpAgain = false
          while (!stopped && deps.isLeader() && inflight.size < concurrency) {
            const rows = await claim(concurrency - inflight.size)
            for (const d of rows) {
              attempt(d).catch(error => report(`delivery ${d.id}`, error)).finally(() => pump())
            }
            if (rows.length < 1) break
          }
        } while (pumpAgain && !stopped)
        if (!stopped && deps.isLeader()) nextDueAt = await earliestDue()
      }
      catch (error) {
        nextDueAt = 0
        report('claiming due deliveries', error)
      }
      finally {
        pumping = false
      }
    })()
  }

  /** When the earliest pending delivery (a retry, or a claim whose lease runs out) is due; Infinity for none. */
  async function earliestDue(): Promise<number> {
    const [row] = await db.select({ at: sql<Date | string | null>`min(${webhookDeliveries.nextAttemptAt})` }).from(webhookDeliveries)
      .where(eq(webhookDeliveries.state, 'pending'))
    return row?.at ? new Date(row.at).getTime() : Infinity
  }

  let ticking: Promise<void> | null = null
  /**
   * One round of the leader's loop: queue reminders, start due deliveries. It reads the database
   * only when something can be there: committed events are matched as the journal announces them
   * (so here only on taking the lead, and every `fullEveryMs` as a safety net), and the queue is
   * read when its earliest delivery is due. An idle server therefore costs no query a second.
   */
  function tick(): Promise<void> {
    if (stopped) return Promise.resolve()
    ticking ??= exclusive(async (): Promise<boolean> => {
      const tookLead = position === null
      if (!(await lead())) return false
      const now = Date.now()
      const full = tookLead || now - lastFullAt >= fullEveryMs
      if (full) {
        lastFullAt = now
        await match()
      }
      await remind(full)
      return full || now >= nextDueAt
    }).then((due) => {
      if (due) pump()
    }, error => report('matching events', error)).finally(() => {
      ticking = null
    })
    return ticking
  }

  return {
    /**
     * Sends a synthetic `webhook_test` event now (even to a disabled webhook) and returns the
     * recorded delivery: one attempt, no retries. Test deliveries use event id 0 and count up `repeat`.
     */
    async sendTest(id: number): Promise<DeliveryView> {
      for (let tries = 0; tries < 5; tries++) {
        await findWebhook(db, id)
        const [row] = await db.insert(webhookDeliveries).values({
          webhookId: id, eventId: 0,
          repeat: sql`(select coalesce(max(${webhookDeliveries.repeat}) + 1, 0) from ${webhookDeliveries} where ${webhookDeliveries.webhookId} = ${id} and ${webhookDeliveries.eventId} = 0)`,
          // Claimed from the start: the loop must not send it too.
          nextAttemptAt: new Date(Date.now() + leaseMs),
        }).onConflictDoNothing().returning()
        // Another test of the same webhook took this number at the same moment: take the next.
        if (!row) continue
        const done = await attempt(row, true)
        // The webhook was deleted meanwhile (or NodePulse is stopping).
        if (!done) throw webhookNotFound(id)
        return toDeliveryView(done, TEST_EVENT_TYPE)
      }
      throw new Error(`could not number a test delivery of webhook ${id}`)
    },

    /** Starts matching committed events and the leader's loop. */
    start(): void {
      stopped = false
      unsubscribe = deps.journal.onCommit((entries) => {
        if (!deps.isLeader() || !entries.some(e => e.kind === 'log')) return
        // Matching runs a moment later: note now which events' nodes are in maintenance.
        for (const e of entries) if (e.kind === 'log' && inMaintenance(e.row.nodeId)) mutedAtCommit.add(e.row.id)
        exclusive(match).catch(error => report('matching events', error))
      })
      timer = setInterval(() => void tick(), pollMs)
      timer.unref()
      void tick()
    },

    /** One round of the loop now (tests). */
    tick,

    /** Resolves when nothing is being matched or sent (tests). */
    async idle(): Promise<void> {
      do {
        await chain
        await Promise.allSettled([...inflight.values()].map(f => f.done))
        await new Promise(r => setTimeout(r, 10))
      } while (inflight.size || pumping)
    },

    /** Stops the loop; attempts in flight are cut short and their rows handed back at once. */
    async stop(): Promise<void> {
      stopped = true
      clearInterval(timer)
      unsubscribe?.()
      const cut = [...inflight.values()]
      cut.forEach(f => f.abort.abort())
      await Promise.allSettled(cut.map(f => f.done))
      await chain
    },
  }
}

export type WebhookDispatcher = ReturnType<typeof createWebhookDispatcher>

const running = startedInstance<WebhookDispatcher>()
/** The running webhook dispatcher (503 until start-up has finished). */
export const useWebhookDispatcher = running.use
/** Publishes the running webhook dispatcher (start-up) or withdraws it (stop). */
export const setWebhookDispatcher = running.set
