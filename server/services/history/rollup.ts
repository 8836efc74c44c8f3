/**
 * The leader's rollups and per-tier retention. New samples are found by arrival (their id, read
 * only up to the journal's final position, so a sample still being written below it is not
 * skipped), not by their timestamps, so a late sample (an
 * agent's spool arriving hours later) marks its old buckets dirty like any other. Each dirty
 * bucket is recomputed whole from its source (raw samples for the finest tier, the tier below for
 * the others) and upserted, in a transaction of its tier that also moves that tier's cursor: a run
 * that dies half-way leaves each tier either done or untouched, and running again gives the same rows.
 */
import { sql } from 'drizzle-orm'
import { HISTORY_METRICS, type HistoryTier } from '../../../shared/contracts/history'
import { rowsOf, type Database } from '../../db'
import { finalPosition } from '../journal'
import { ALL_ROLLUP_COLUMNS, RAW_EXPRESSIONS, raw, UPSERT_SET } from './metrics'

/** Buckets sit on multiples of their width since the unix epoch (whole UTC hours and days). */
export const ORIGIN = raw(`timestamptz '1970-01-01 00:00:00+00'`)
const stride = (seconds: number) => sql`make_interval(secs => ${seconds})`

export interface RollupOptions {
  /** Raw samples per rollup transaction (5000): bounds how long one holds the database (PGlite has one connection). */
  batchRows?: number
  /** Rows per retention delete. */
  deleteBatch?: number
  /** Pause between retention deletes, so ingest writes go in between. */
  pauseMs?: number
  /** Called after each tier's upsert inside the transaction (tests make it throw to stop a run half-way). */
  afterTier?: (tier: HistoryTier) => void
}

export interface RollupRun { samples: number, batches: number, caughtUp: boolean }
export interface PurgeResult { deleted: Record<string, number>, maxSampleId: number }

type Progress = Map<number, { cursor: number, purgedBefore: Date | null }>
const iso = (d: Date) => sql`${d.toISOString()}::timestamptz`
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

async function readProgress(db: Database): Promise<Progress> {
  const rows = rowsOf<{ width_seconds: number, cursor: string | number, purged_before: string | Date | null }>(
    await db.execute(sql`select width_seconds, cursor, purged_before from history_progress`))
  return new Map(rows.map(r => [Number(r.width_seconds), { cursor: Number(r.cursor), purgedBefore: r.purged_before === null ? null : new Date(r.purged_before) }]))
}

/** The aggregate columns of a finest-tier bucket, from the raw rows of `v` (one column per metric). */
const fromRaw = HISTORY_METRICS.map(m => `avg(${m})::real, min(${m})::real, max(${m})::real, `
  + `((array_agg(${m} order by ts desc) filter (where ${m} is not null))[1])::real, count(${m})::int`).join(', ')

/** The aggregate columns of a coarser bucket, from the finer tier's rows `r`: averages weighted by their sample counts. */
const fromTier = HISTORY_METRICS.map(m => `(sum(r.${m}_avg::float8 * r.${m}_n) / nullif(sum(r.${m}_n), 0))::real, min(r.${m}_min), max(r.${m}_max), `
  + `(array_agg(r.${m}_last order by r.bucket desc) filter (where r.${m}_n > 0))[1], sum(r.${m}_n)::int`).join(', ')

const valuesOfRaw = HISTORY_METRICS.map(m => `${RAW_EXPRESSIONS[m]} as ${m}`).join(', ')

/** Rollups and retention over the configured tiers (the first is raw). */
export function createHistoryRollup(db: Database, tiers: HistoryTier[], opts: RollupOptions = {}) {
  const batchRows = opts.batchRows ?? 5000
  const deleteBatch = opts.deleteBatch ?? 5000
  const pauseMs = opts.pauseMs ?? 20
  const rollups = tiers.filter(t => t.width_seconds > 0)
  // Runs and purges never overlap (the rollup timer and the hourly housekeeping share this).
  let chain: Promise<unknown> = Promise.resolve()
  const serial = <T>(job: () => Promise<T>): Promise<T> => {
    const next = chain.then(job, job)
    chain = next.catch(() => {})
    return next
  }

  /**
   * Rolls the next batch of arrived samples into every tier; the number of samples it covered.
   * Each tier commits on its own with its cursor, finest first (a coarser tier reads the finer one's
   * rows): on PGlite every other statement waits for an open transaction, so a query or an ingest
   * waits for one tier's upsert, not for all of them.
   */
  async function rollBatch(): Promise<number> {
    const progress = await readProgress(db)
    const cursorOf = (t: HistoryTier) => progress.get(t.width_seconds)?.cursor ?? 0
    const start = Math.min(...rollups.map(cursorOf))
    const final = await finalPosition(db)
    const [batch] = rowsOf<{ upto: string | number | null, n: string | number }>(await db.execute(sql`
      select max(id) as upto, count(*) as n from (select id from node_samples where id > ${start} and id <= ${final} order by id limit ${batchRows}) b`))
    const upto = batch?.upto === null || batch?.upto === undefined ? 0 : Number(batch.upto)
    if (!upto) return 0
    for (const [i, tier] of tiers.entries()) {
      if (!tier.width_seconds || cursorOf(tier) >= upto) continue
      const source = tiers[i - 1]!
      const w = tier.width_seconds
      const guard = progress.get(source.width_seconds)?.purgedBefore
      const dirty = sql`select distinct node_id, date_bin(${stride(w)}, ts, ${ORIGIN}) as bucket
        from node_samples where id > ${cursorOf(tier)} and id <= ${upto}`
      const guarded = guard ? sql`where d.bucket >= ${iso(guard)}` : sql``
      const insert = sql`insert into history_rollups (width_seconds, node_id, bucket, samples, ${raw(ALL_ROLLUP_COLUMNS)})`
      const upsert = sql`on conflict (width_seconds, node_id, bucket) do update set ${raw(UPSERT_SET)}`
      await db.transaction(async (tx) => {
        if (!source.width_seconds) {
          await tx.execute(sql`with dirty as (${dirty}), v as (
              select d.node_id, d.bucket, s.ts, ${raw(valuesOfRaw)}
              from dirty d join node_samples s on s.node_id = d.node_id and s.ts >= d.bucket and s.ts < d.bucket + ${stride(w)} and s.id <= ${upto}
              ${guarded})
            ${insert} select ${w}, node_id, bucket, count(*)::int, ${raw(fromRaw)} from v group by node_id, bucket ${upsert}`)
        }
        else {
          await tx.execute(sql`with dirty as (${dirty})
            ${insert} select ${w}, r.node_id, d.bucket, sum(r.samples)::int, ${raw(fromTier)}
            from dirty d join history_rollups r on r.width_seconds = ${source.width_seconds} and r.node_id = d.node_id
              and r.bucket >= d.bucket and r.bucket < d.bucket + ${stride(w)}
            ${guarded}
            group by r.node_id, d.bucket ${upsert}`)
        }
        opts.afterTier?.(tier)
        await tx.execute(sql`insert into history_progress (width_seconds, cursor, updated_at) values (${w}, ${upto}, now())
          on conflict (width_seconds) do update set cursor = greatest(history_progress.cursor, excluded.cursor), updated_at = now()`)
      })
    }
    return Number(batch!.n)
  }

  /** Rolls up everything that arrived, in bounded batches, for at most `budgetMs`. */
  async function runUnlocked(budgetMs: number): Promise<RollupRun> {
    const started = Date.now()
    const run: RollupRun = { samples: 0, batches: 0, caughtUp: false }
    if (!rollups.length) return { ...run, caughtUp: true }
    while (Date.now() - started < budgetMs) {
      const n = await rollBatch()
      if (!n) return { ...run, caughtUp: true }
      run.samples += n
      run.batches++
      if (n < batchRows) return { ...run, caughtUp: true }
    }
    return run
  }

  /** Deletes rows matched by `select` in batches of `deleteBatch`, pausing between them; rows deleted and the highest id. */
  async function deleteInBatches(remove: () => Promise<{ n: number, max: number }>): Promise<{ n: number, max: number }> {
    const total = { n: 0, max: 0 }
    for (;;) {
      const { n, max } = await remove()
      total.n += n
      total.max = Math.max(total.max, max)
      if (n < deleteBatch) return total
      await sleep(pauseMs)
    }
  }

  const deleted = (rows: unknown) => {
    const [row] = rowsOf<{ n: string | number, max: string | number | null }>(rows)
    return { n: Number(row?.n ?? 0), max: Number(row?.max ?? 0) }
  }

  /**
   * Per-tier retention. Each tier's boundary is aligned down to the next tier's width, so a
   * bucket of the next tier is never left with part of its source; it is recorded before the
   * delete (the rollups never recompute a bucket older than it). Raw samples go only once the
   * rollups have caught up with them.
   */
  async function purgeUnlocked(now: Date): Promise<PurgeResult> {
    const result: PurgeResult = { deleted: {}, maxSampleId: 0 }
    const caughtUp = (await runUnlocked(60_000)).caughtUp
    for (const [i, tier] of tiers.entries()) {
      const align = tiers[i + 1]?.width_seconds ?? 0
      let boundary = Math.floor(now.getTime() / 1000) - tier.retention_seconds
      if (align) boundary = Math.floor(boundary / align) * align
      const before = new Date(boundary * 1000)
      if (!tier.width_seconds && !caughtUp) continue
      await db.execute(sql`insert into history_progress (width_seconds, purged_before) values (${tier.width_seconds}, ${iso(before)})
        on conflict (width_seconds) do update set purged_before = greatest(history_progress.purged_before, excluded.purged_before), updated_at = now()`)
      const removed = tier.width_seconds
        ? await deleteInBatches(async () => deleted(await db.execute(sql`with d as (delete from history_rollups where (width_seconds, node_id, bucket) in (
            select width_seconds, node_id, bucket from history_rollups where width_seconds = ${tier.width_seconds} and bucket < ${iso(before)} limit ${deleteBatch})
            returning 1) select count(*) as n, 0 as max from d`)))
        : await deleteInBatches(async () => deleted(await db.execute(sql`with d as (delete from node_samples where id in (
            select id from node_samples where ts < ${iso(before)} order by ts limit ${deleteBatch}) returning id)
            select count(*) as n, max(id) as max from d`)))
      result.deleted[tier.name] = removed.n
      if (!tier.width_seconds) result.maxSampleId = removed.max
    }
    // Tiers no longer configured: their rows and progress go too.
    const widths = raw(tiers.map(t => t.width_seconds).join(', '))
    const gone = await deleteInBatches(async () => deleted(await db.execute(sql`with d as (delete from history_rollups where (width_seconds, node_id, bucket) in (
        select width_seconds, node_id, bucket from history_rollups where width_seconds not in (${widths}) limit ${deleteBatch})
        returning 1) select count(*) as n, 0 as max from d`)))
    if (gone.n) result.deleted.unconfigured = gone.n
    await db.execute(sql`delete from history_progress where width_seconds not in (${widths})`)
    // PGlite has no autovacuum: fresh statistics keep the planner on the right indexes as tiers grow.
    await db.execute(sql`analyze node_samples, history_rollups`)
    return result
  }

  return {
    /** Rolls up every sample that arrived since the last run (late ones included), for at most `budgetMs`. */
    run: (budgetMs = 20_000) => serial(() => runUnlocked(budgetMs)),
    /** Catches up, then applies each tier's retention in bounded batches. */
    purge: (now = new Date()) => serial(() => purgeUnlocked(now)),
  }
}

export type HistoryRollup = ReturnType<typeof createHistoryRollup>
