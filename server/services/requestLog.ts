import { and, desc, eq, inArray, lt, lte, max, sql, type SQL } from 'drizzle-orm'
import type { FailingAgent, RequestLogPage, RequestLogQuery } from '../../shared/contracts/rest'
import type { RequestLogEntry } from '../../shared/contracts/seed001'
import { executePrepared, type Database } from '../db'
import { requestLog, type RequestLogRow } from '../db/schema'
import { describeError } from './logSafe'
import type { Registry } from './registry'
import { startedInstance } from './started'

export interface RequestLogOptions {
  /** Rows the table keeps (the newest); also the most entries waiting in memory for a write. */
  maxRows: number
  /** How often waiting entries are written, in one statement. */
  flushMs: number
}

/** One answered agent request, as the route wrapper reports it. */
export interface AnsweredRequest {
  nodeId: number | null
  method: string
  endpoint: string
  statusCode: number
  latencyMs: number
  errorMessage: string
  at: Date
}

const INSERT_ROWS = 1000
const MESSAGE_CHARS = 500
const ENDPOINT_CHARS = 200

/**
 * The message an entry keeps: the answer's own, cut to 500 characters. A malformed body's parser
 * detail is dropped, since it quotes the body.
 */
export function loggedMessage(message: string): string {
  const text = message.startsWith('Malformed JSON') ? 'Malformed JSON' : message
  return text.length > MESSAGE_CHARS ? `${text.slice(0, MESSAGE_CHARS - 1)}…` : text
}

/**
 * Text as the JSON insert can carry it: a lone surrogate half (from a body's key quoted in an
 * error, or a message cut inside a pair) and NUL are refused by Postgres's jsonb, and one such
 * entry would fail its whole batch; each becomes U+FFFD, as text parameters stored them.
 */
export function storableText(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\0/g, '\uFFFD')
}

/** A stored row as seed 001's request log carries it. */
export function toRequestLogEntry(row: RequestLogRow): RequestLogEntry {
  return {
    id: row.id, provider_id: row.nodeId, node_id: row.nodeId, hostname: row.hostname, method: row.method, endpoint: row.endpoint,
    status_code: row.statusCode, latency_ms: row.latencyMs, success: row.success, error_message: row.errorMessage,
    timestamp: Math.floor(row.createdAt.getTime() / 1000),
  }
}

type Waiting = typeof requestLog.$inferInsert

/** A stored row as the insert answers it (time as unix ms, so both drivers read it alike). */
interface InsertedRow { id: number, node_id: number | null, hostname: string | null, method: string, endpoint: string, status_code: number, latency_ms: number, success: boolean, error_message: string, created_ms: number }

/**
 * One statement inserting the entries, passed as one JSON parameter, in order: drizzle's
 * `.values()` built ten bind parameters per row, which cost the server more CPU than the ingest it logged.
 */
function insertStatement(batch: Waiting[]): SQL {
  const rows = JSON.stringify(batch.map(r => [r.nodeId, r.hostname, r.method, r.endpoint, r.statusCode, r.latencyMs, r.success, r.errorMessage, r.createdAt]))
  return sql`insert into request_log (node_id, hostname, method, endpoint, status_code, latency_ms, success, error_message, created_at)
    select (r->>0)::int, r->>1, r->>2, r->>3, (r->>4)::int, (r->>5)::real, (r->>6)::boolean, r->>7, (r->>8)::timestamptz
    from jsonb_array_elements(${rows}::jsonb) with ordinality as e(r, n) order by n
    returning id::float8 as id, node_id, hostname, method, endpoint, status_code, latency_ms, success, error_message,
      (extract(epoch from created_at) * 1000)::float8 as created_ms`
}

const rowOf = (r: InsertedRow): RequestLogRow => ({
  id: r.id, nodeId: r.node_id, hostname: r.hostname, method: r.method, endpoint: r.endpoint, statusCode: r.status_code,
  latencyMs: r.latency_ms, success: r.success, errorMessage: r.error_message, createdAt: new Date(r.created_ms),
})

/**
 * Seed 001's request log: entries wait in memory (at most `maxRows`, the oldest dropped first) and
 * are written together every `flushMs`; after each write the table keeps its newest `maxRows`
 * rows, so an agent sending a flood of bad reports cannot fill the disk. Listeners get each
 * written batch (the `logs` channel).
 */
export function createRequestLog(db: Database, registry: Registry, opts: RequestLogOptions) {
  let waiting: Waiting[] = []
  let dropped = 0
  let writing: Promise<void> | null = null
  const listeners = new Set<(entries: RequestLogEntry[]) => void>()

  async function write(): Promise<void> {
    while (waiting.length) {
      const batch = waiting.splice(0, INSERT_ROWS)
      const rows = (await executePrepared<InsertedRow>(db, insertStatement(batch))).map(rowOf)
      const entries = rows.sort((a, b) => a.id - b.id).map(toRequestLogEntry)
      listeners.forEach(l => l(entries))
    }
    // Keep the newest maxRows: rows up to the (maxRows + 1)th newest go.
    const [edge] = await db.select({ id: requestLog.id }).from(requestLog).orderBy(desc(requestLog.id)).offset(opts.maxRows).limit(1)
    if (edge) await db.delete(requestLog).where(lte(requestLog.id, edge.id))
  }

  /** Writes what is waiting (one write at a time); failures are logged, the entries dropped. */
  function flush(): Promise<void> {
    if (writing || !waiting.length) return writing ?? Promise.resolve()
    writing = write().catch((error) => {
      console.error(`[nodepulse] writing the request log failed: ${describeError(error)}`)
    }).finally(() => {
      writing = null
    })
    return writing
  }

  const timer = setInterval(() => void flush(), opts.flushMs)
  timer.unref()

  const conditions = (q: Pick<RequestLogQuery, 'node_id' | 'status'>): SQL[] => [
    ...(q.node_id !== undefined ? [eq(requestLog.nodeId, q.node_id)] : []),
    ...(q.status === 'failed' ? [eq(requestLog.success, false)] : q.status === 'ok' ? [eq(requestLog.success, true)] : q.status !== undefined ? [eq(requestLog.statusCode, q.status)] : []),
  ]

  return {
    /** Records one answered request; it is written within `flushMs`. */
    record(r: AnsweredRequest): void {
      waiting.push({
        nodeId: r.nodeId, hostname: r.nodeId === null ? null : registry.get(r.nodeId)?.hostname ?? null, method: storableText(r.method),
        endpoint: storableText(r.endpoint.slice(0, ENDPOINT_CHARS)), statusCode: r.statusCode, latencyMs: Math.round(r.latencyMs * 10) / 10,
        success: r.statusCode < 400, errorMessage: r.statusCode < 400 ? '' : storableText(loggedMessage(r.errorMessage)), createdAt: r.at,
      })
      if (waiting.length > opts.maxRows) {
        dropped += waiting.length - opts.maxRows
        waiting = waiting.slice(-opts.maxRows)
      }
    },

    /** Called with each written batch, in id order. */
    onWrite(listener: (entries: RequestLogEntry[]) => void): () => void {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },

    /** The newest `limit` entries, oldest first. */
    async recent(limit: number): Promise<RequestLogEntry[]> {
      const rows = await db.select().from(requestLog).orderBy(desc(requestLog.id)).limit(limit)
      return rows.reverse().map(toRequestLogEntry)
    },

    /** A page of the log, newest first, filtered by node and status. */
    async list(q: RequestLogQuery): Promise<RequestLogPage> {
      const limit = q.limit ?? 100
      const rows = await db.select().from(requestLog)
        .where(and(...conditions(q), ...(q.cursor !== undefined ? [lt(requestLog.id, q.cursor)] : [])))
        .orderBy(desc(requestLog.id)).limit(limit + 1)
      const page = rows.slice(0, limit)
      return { requests: page.map(toRequestLogEntry), next_cursor: rows.length > limit ? page.at(-1)!.id : null }
    },

    /**
     * The agents the log holds refusals for: one row per node and status, most recent first, with
     * the newest refusal's message and the node's newest success (an agent that recovered shows it).
     */
    async failing(q: Pick<RequestLogQuery, 'node_id'>): Promise<FailingAgent[]> {
      const byNode = q.node_id !== undefined ? [eq(requestLog.nodeId, q.node_id)] : []
      const refused = await db.select({
        nodeId: requestLog.nodeId, statusCode: requestLog.statusCode, count: sql<number>`count(*)::int`, lastId: max(requestLog.id),
      }).from(requestLog).where(and(eq(requestLog.success, false), ...byNode)).groupBy(requestLog.nodeId, requestLog.statusCode)
      const succeeded = await db.select({ nodeId: requestLog.nodeId, at: max(requestLog.createdAt) }).from(requestLog)
        .where(and(eq(requestLog.success, true), ...byNode)).groupBy(requestLog.nodeId)
      const lastSuccess = new Map(succeeded.map(s => [s.nodeId, s.at]))
      const ids = refused.map(r => r.lastId).filter((id): id is number => id !== null)
      const newest = ids.length ? await db.select().from(requestLog).where(inArray(requestLog.id, ids)) : []
      const rowOf = new Map(newest.map(r => [r.id, r]))
      return refused.flatMap((r) => {
        const row = r.lastId === null ? undefined : rowOf.get(r.lastId)
        if (!row) return []
        const success = lastSuccess.get(r.nodeId)
        return [{
          node_id: r.nodeId, hostname: row.hostname, status_code: r.statusCode, count: r.count, error_message: row.errorMessage,
          last_seen: Math.floor(row.createdAt.getTime() / 1000), last_success: success ? Math.floor(success.getTime() / 1000) : null,
        }]
      }).sort((a, b) => b.last_seen - a.last_seen || (a.node_id ?? 0) - (b.node_id ?? 0))
    },

    /** Entries dropped before they were written (more than `maxRows` waited at once). */
    dropped: () => dropped,

    /** Deletes entries older than `cutoff` (housekeeping). */
    async purge(cutoff: Date): Promise<void> {
      await db.delete(requestLog).where(lt(requestLog.createdAt, cutoff))
    },

    flush,

    /** Stops the timer and writes what is waiting. */
    async close(): Promise<void> {
      clearInterval(timer)
      await flush()
    },
  }
}

export type RequestLog = ReturnType<typeof createRequestLog>

const running = startedInstance<RequestLog>()
/** The running request log; 503 while there is none. */
export const useRequestLog = running.use
/** Sets (or, with undefined, clears) the running request log. */
export const setRequestLog = running.set
