import { and, count, eq, lt, sql } from 'drizzle-orm'
import type { z } from 'zod'
import {
  MAX_PAGE, memberNodesBody, observationsBody, readingsBody, type MemberNode, type NodeRef, type Observation, type Reading,
} from '../../../shared/contracts/seed003'
import type { Database, Transaction } from '../../db'
import { events, members, type MemberRow } from '../../db/schema'
import { NotFoundError } from '../errors'
import type { EventLog } from '../events'
import type { Ingest, SampleInput } from '../ingest'
import type { NodeState, Registry } from '../registry'
import { MEMBER_LABEL } from './memberApi'
import type { Members } from './members'

export interface PollerOptions {
  timeoutMs: number
  /** This server's instance id: a member listing our own nodes back (a loop) is not followed. */
  instanceId: string
  /** The largest answer read from a member; past it the member is unreachable. */
  maxBodyBytes?: number
  /** Pages of readings and of observations fetched per member and poll (the rest comes next poll). */
  maxPages?: number
  /** The most nodes one member may bring; past it the member is unreachable (a member cannot fill the registry). */
  maxNodesPerMember?: number
}

/** Why a member's answer was not used; its message is what `last_error` shows. */
class MemberFailure extends Error {}
/** An event that reached this server through another member first (rolls its insert back). */
class AlreadyStored extends Error {}

const httpHint = (status: number) => (status === 401 || status === 403 ? ' (check the member\'s token: a viewer API token created on the member)' : '')

/**
 * Events this server derives itself from the pulled samples (its watcher: status, reachability,
 * backups counted from `active_backups`): the member's own copies would alert twice.
 */
function derivedHere(o: Observation): boolean {
  if (o.resource_type === 'node' && (o.event_type === 'node_status_update' || o.event_type === 'node_reachable' || o.event_type === 'node_unreachable')) return true
  return (o.event_type === 'backup_started' || o.event_type === 'backup_completed') && o.data.source === 'active_backups'
}

/** A failed fetch in words an operator can act on, without internals. */
function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof MemberFailure) return error.message
  const e = error as { name?: string, cause?: { code?: string } }
  if (e.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`
  if (e.name === 'AbortError') return 'the poll was stopped'
  const code = e.cause?.code
  if (code === 'ECONNREFUSED') return 'connection refused'
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name not found'
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset'
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return `no answer within ${timeoutMs / 1000} s`
  return `request failed${code ? ` (${code})` : ''}`
}

/**
 * The leader's pull of seed 003: every `aggregation_interval` each member is polled on its own (a
 * member still busy from the last round is skipped, so a slow one delays no other): its node list,
 * then its readings and observations after the stored cursors. Its nodes join the registry as
 * `kind: member` under the member's name, keyed by their stable source id; samples go through the
 * ingest (idempotent by node and timestamp), events into the event log with the cursor in the same
 * transaction. Any failure (connect, timeout, non-2xx, size, JSON, shape) marks the member unreachable at once.
 * Each request has `timeoutMs` for the whole answer, body included.
 */
export function createMemberPoller(deps: { db: Database, registry: Registry, ingest: Ingest, log: EventLog, members: Members }, opts: PollerOptions) {
  const { db, registry, ingest, log } = deps
  const maxBody = opts.maxBodyBytes ?? 8 * 1024 * 1024
  const maxPages = opts.maxPages ?? 10
  const maxNodes = opts.maxNodesPerMember ?? 5000
  const ownPrefix = `nodepulse:${opts.instanceId}/`
  const busy = new Map<number, Promise<void>>()
  const stopper = new AbortController()

  /** GETs a member path with its token and validates the JSON answer; throws MemberFailure with the reason. */
  async function getJson<S extends z.ZodType>(m: MemberRow, path: string, schema: S): Promise<z.output<S>> {
    // A timer of our own rather than AbortSignal.any([AbortSignal.timeout()]): Node may collect the
    // timeout signal inside any() while the fetch waits, and then a hanging member is never cut off.
    const abort = new AbortController()
    const timer = setTimeout(() => abort.abort(new DOMException(`no answer within ${opts.timeoutMs} ms`, 'TimeoutError')), opts.timeoutMs)
    const onStop = () => abort.abort(new DOMException('stopped', 'AbortError'))
    stopper.signal.addEventListener('abort', onStop, { once: true })
    const signal = abort.signal
    try {
      const res = await fetch(`${m.url}${path}`, { headers: { authorization: `Bearer ${m.token}`, accept: 'application/json' }, signal, redirect: 'error' })
      if (!res.ok) {
        await res.body?.cancel().catch(() => {})
        throw new MemberFailure(`${path.split('?')[0]} answered HTTP ${res.status}${httpHint(res.status)}`)
      }
      const tooLarge = new MemberFailure(`${path.split('?')[0]} answered more than ${Math.round(maxBody / 1024 / 1024)} MB`)
      if (Number(res.headers.get('content-length') ?? 0) > maxBody) {
        await res.body?.cancel().catch(() => {})
        throw tooLarge
      }
      const chunks: Uint8Array[] = []
      let size = 0
      if (res.body) {
        const reader = res.body.getReader()
        // Node 20's fetch can leave a read pending after the abort when the body trickles in (a byte
        // every 100 ms hung a poll for good): each read races the abort, and the loser is cancelled.
        const aborted = new Promise<never>((_, reject) => {
          if (signal.aborted) reject(signal.reason)
          signal.addEventListener('abort', () => reject(signal.reason), { once: true })
        })
        aborted.catch(() => {})
        for (;;) {
          const { done, value } = await Promise.race([reader.read(), aborted]).catch((error: unknown) => {
            reader.cancel().catch(() => {})
            throw error
          })
          if (done) break
          size += value.byteLength
          if (size > maxBody) {
            await reader.cancel().catch(() => {})
            throw tooLarge
          }
          chunks.push(value)
        }
      }
      let json: unknown
      try {
        json = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      }
      catch {
        throw new MemberFailure(`${path.split('?')[0]} answered invalid JSON`)
      }
      const parsed = schema.safeParse(json)
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!
        throw new MemberFailure(`${path.split('?')[0]} answered an unexpected shape (${issue.path.join('.') || 'body'}: ${issue.message}); is it a NodePulse server?`)
      }
      return parsed.data
    }
    catch (error) {
      throw new MemberFailure(describeFetchError(error, opts.timeoutMs))
    }
    finally {
      clearTimeout(timer)
      stopper.signal.removeEventListener('abort', onStop)
    }
  }

  /** The local node of a source, created under the member when new; undefined for our own nodes (a loop). */
  async function localNode(m: MemberRow, ref: NodeRef | MemberNode, bySource: Map<string, NodeState>): Promise<NodeState | undefined> {
    if (ref.source.startsWith(ownPrefix)) return undefined
    const known = bySource.get(ref.source)
    const labels = { ...('labels' in ref ? ref.labels : {}), [MEMBER_LABEL.member]: m.name, [MEMBER_LABEL.source]: ref.source }
    const hostname = `${m.name} / ${ref.hostname}`
    if (known) {
      // Seen through another member first: one node, named by the path that found it.
      if (known.labels[MEMBER_LABEL.member] !== m.name || !('labels' in ref)) return known
      if (known.hostname === hostname && JSON.stringify(known.labels) === JSON.stringify(labels)) return known
      const updated = (await registry.update(known.id, { hostname, labels })) ?? known
      bySource.set(ref.source, updated)
      return updated
    }
    if (registry.list().filter(n => n.labels[MEMBER_LABEL.member] === m.name).length >= maxNodes) {
      throw new MemberFailure(`it lists more than ${maxNodes} nodes; NodePulse stopped adding them`)
    }
    const node = await registry.create({ hostname, kind: 'member', labels })
    bySource.set(ref.source, node)
    await log.record({
      type: 'node_registered', severity: 'info', nodeId: node.id, resourceType: 'node', clusterId: null,
      message: `Node ${hostname} found on member ${m.name}`, data: { hostname, member: m.name, source: ref.source },
    })
    return node
  }

  const sourceIndex = () => new Map(registry.list().filter(n => n.labels[MEMBER_LABEL.source]).map(n => [n.labels[MEMBER_LABEL.source]!, n]))

  const toSample = (r: Reading): SampleInput => ({
    ts: new Date(r.timestamp), cpuPercent: r.cpu_percent, memoryPercent: r.memory_percent, diskPercent: r.disk_percent,
    uptimeSeconds: r.uptime_seconds === null ? null : Math.round(r.uptime_seconds), activeBackups: r.active_backups === null ? null : Math.round(r.active_backups),
  })

  /** Stores readings page by page; the cursor moves only after a page's samples are committed. */
  async function pullReadings(m: MemberRow, bySource: Map<string, NodeState>): Promise<void> {
    let cursor = m.readingsCursor
    for (let page = 0; page < maxPages; page++) {
      const body = await getJson(m, `/api/readings?since=${cursor}&limit=${MAX_PAGE}`, readingsBody)
      const byNode = new Map<number, SampleInput[]>()
      for (const r of body.readings) {
        const node = await localNode(m, r.node, bySource)
        if (!node) continue
        const list = byNode.get(node.id) ?? []
        list.push(toSample(r))
        byNode.set(node.id, list)
      }
      // A node deleted here meanwhile loses only those samples; any other failure keeps the cursor (retried next poll).
      await Promise.all([...byNode].map(([id, samples]) => ingest.submit(id, samples).catch((error: unknown) => {
        if (!(error instanceof NotFoundError)) throw error
      })))
      const next = Number(body.next_cursor)
      if (next !== cursor) {
        await db.update(members).set({ readingsCursor: next }).where(eq(members.id, m.id))
        cursor = next
      }
      if (!body.more) return
    }
  }

  /**
   * Records observations one by one, each with its cursor in the event's transaction. An event keeps
   * the `origin` it was first recorded under (`<instance>/<event id>`), so one that arrives through a
   * second member is skipped (event writes run one at a time: see `journal.ts`).
   */
  async function pullObservations(m: MemberRow, instance: string, bySource: Map<string, NodeState>): Promise<void> {
    let cursor = m.observationsCursor
    const moveTo = (id: number) => async (tx: Pick<Transaction, 'update'>) => {
      // Only forward: an instance that lost the leader lock mid-poll and the new leader cannot both record one event.
      const moved = await tx.update(members).set({ observationsCursor: id })
        .where(and(eq(members.id, m.id), lt(members.observationsCursor, id))).returning({ id: members.id })
      if (!moved.length) throw new MemberFailure('another instance stored these observations first')
    }
    for (let page = 0; page < maxPages; page++) {
      const body = await getJson(m, `/api/observations?since=${cursor}&limit=${MAX_PAGE}`, observationsBody)
      let stored = cursor
      for (const o of body.observations) {
        cursor = o.id
        if (derivedHere(o)) continue
        const node = o.node ? await localNode(m, o.node, bySource) : undefined
        const origin = typeof o.data.origin === 'string' ? o.data.origin.slice(0, 200) : `${instance}/${o.id}`
        try {
          await log.record({
            type: o.event_type, severity: o.severity, nodeId: node?.id ?? null, clusterId: o.cluster_id, resourceType: o.resource_type,
            message: o.message, data: { ...o.data, member: m.name, member_event_id: o.id, member_created_at: o.created_at, origin },
          }, async (tx) => {
            const [seen] = await tx.select({ n: count() }).from(events).where(sql`${events.data}->>'origin' = ${origin}`)
            if (Number(seen?.n ?? 0) > 1) throw new AlreadyStored()
            await moveTo(o.id)(tx)
          })
        }
        catch (error) {
          if (!(error instanceof AlreadyStored)) throw error
          await db.transaction(moveTo(o.id))
        }
        stored = o.id
      }
      // Past events skipped at the end of the page, or an empty page's cursor.
      const next = Math.max(Number(body.next_cursor), cursor)
      if (next !== stored) await db.update(members).set({ observationsCursor: next }).where(and(eq(members.id, m.id), lt(members.observationsCursor, next)))
      cursor = next
      if (!body.more) return
    }
  }

  /** Records a member's reachability; a change is an event written with the new state. */
  async function settle(m: MemberRow, error: string | null): Promise<void> {
    const now = new Date()
    const reachable = error === null
    const set = reachable ? { reachable, lastError: null, lastPolledAt: now, lastOkAt: now } : { reachable, lastError: error, lastPolledAt: now }
    const save = (tx: Pick<Transaction, 'update'>) => tx.update(members).set(set).where(eq(members.id, m.id))
    const changed = reachable ? m.reachable === false : m.reachable !== false
    if (!changed) {
      await save(db)
      return
    }
    await log.record({
      type: reachable ? 'node_reachable' : 'node_unreachable', severity: reachable ? 'success' : 'warning', nodeId: null, clusterId: m.name, resourceType: 'member',
      message: reachable ? `Member ${m.name} is reachable again` : `Member ${m.name} is unreachable: ${error}`,
      data: { member: m.name, url: m.url, ...(error ? { last_error: error } : {}) },
    }, save)
  }

  async function pollMember(m: MemberRow): Promise<void> {
    let failure: string | null = null
    try {
      const listed = await getJson(m, '/api/nodes', memberNodesBody)
      if (listed.instance === opts.instanceId) throw new MemberFailure('this URL is this server itself')
      const bySource = sourceIndex()
      for (const n of listed.nodes) await localNode(m, n, bySource)
      await pullReadings(m, bySource)
      await pullObservations(m, listed.instance, bySource)
    }
    catch (error) {
      if (!(error instanceof MemberFailure)) console.error(`[nodepulse] polling member ${m.name} failed:`, error)
      failure = error instanceof MemberFailure ? error.message : 'storing its data failed (see the server log)'
    }
    if (stopper.signal.aborted) return
    // The member may have been removed while it was polled.
    const [still] = await db.select().from(members).where(eq(members.id, m.id))
    if (still) await settle(still, failure)
  }

  return {
    /** Starts a poll of every member not still busy with the last one; does not wait for them. */
    async pollAll(): Promise<void> {
      for (const m of await deps.members.rows()) {
        if (busy.has(m.id)) continue
        const run = pollMember(m).catch(error => console.error(`[nodepulse] polling member ${m.name} failed:`, error)).finally(() => busy.delete(m.id))
        busy.set(m.id, run)
      }
    },
    /** Aborts the polls in flight and waits for them. */
    async stop(): Promise<void> {
      stopper.abort()
      await Promise.all(busy.values())
    },
  }
}

export type MemberPoller = ReturnType<typeof createMemberPoller>
