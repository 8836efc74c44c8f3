/**
 * A node's availability per UTC day, from its status history: the watcher's
 * `node_status_update` events (each with `previous_status` and `status`). Time is known from
 * the node's creation, but not before the event log's retention (NODEPULSE_RETENTION_DAYS),
 * so older days answer null rather than a guess.
 */
import { sql } from 'drizzle-orm'
import type { NodeUptime, UptimeDay } from '../../../shared/contracts/history'
import { rowsOf, type Database } from '../../db'
import { NotFoundError } from '../errors'
import type { Registry } from '../registry'

const DAY = 86_400_000

/** A stretch of time with one status: `[from, to)` in ms. */
export interface StatusSpan { from: number, to: number, online: boolean }

/** Online and known seconds of each UTC day from `firstDay` (ms, a UTC midnight) to the day holding `now`. */
export function uptimeDays(spans: StatusSpan[], firstDay: number, now: number): UptimeDay[] {
  const days: UptimeDay[] = []
  for (let start = firstDay; start <= now; start += DAY) {
    const end = Math.min(start + DAY, now)
    let online = 0
    let known = 0
    for (const s of spans) {
      const overlap = Math.max(0, Math.min(end, s.to) - Math.max(start, s.from))
      known += overlap
      if (s.online) online += overlap
    }
    days.push({
      date: new Date(start).toISOString().slice(0, 10),
      online_seconds: Math.round(online / 1000),
      known_seconds: Math.round(known / 1000),
      online_share: known ? Math.round(online / known * 1e6) / 1e6 : null,
    })
  }
  return days
}

/** Uptime reads over the event log (`retentionDays`: how far back it is kept). */
export function createUptime(db: Database, registry: Registry, retentionDays: number) {
  return {
    /** The last `days` UTC days of a node (today so far last); 404 for an unknown node. */
    async node(nodeId: number, days: number, at = new Date()): Promise<NodeUptime> {
      const node = registry.get(nodeId)
      if (!node) throw new NotFoundError(`Node ${nodeId} not found`)
      const now = at.getTime()
      const firstDay = Math.floor(now / DAY) * DAY - (days - 1) * DAY
      const knownFrom = Math.max(node.createdAt.getTime(), now - retentionDays * DAY, firstDay)
      const events = rowsOf<{ at: string | Date, status: string | null, previous: string | null }>(await db.execute(sql`
        (select created_at as at, data->>'status' as status, data->>'previous_status' as previous from events
          where type = 'node_status_update' and node_id = ${nodeId} and created_at < ${new Date(knownFrom).toISOString()}::timestamptz
          order by created_at desc, id desc limit 1)
        union all
        (select created_at, data->>'status', data->>'previous_status' from events
          where type = 'node_status_update' and node_id = ${nodeId} and created_at >= ${new Date(knownFrom).toISOString()}::timestamptz
          order by created_at, id)`)).map(e => ({ at: new Date(e.at).getTime(), status: e.status, previous: e.previous }))
      const inside = events.filter(e => e.at >= knownFrom)
      const before = events.find(e => e.at < knownFrom)
      let status = before?.status ?? inside[0]?.previous ?? node.watchedStatus ?? 'offline'
      const spans: StatusSpan[] = []
      let from = knownFrom
      for (const e of inside) {
        if (e.at > from) spans.push({ from, to: e.at, online: status === 'online' })
        from = Math.max(from, e.at)
        status = e.status ?? status
      }
      if (now > from) spans.push({ from, to: now, online: status === 'online' })
      const list = uptimeDays(spans, firstDay, now)
      const known = list.reduce((sum, d) => sum + d.known_seconds, 0)
      const online = list.reduce((sum, d) => sum + d.online_seconds, 0)
      return { node_id: nodeId, days: list, online_share: known ? Math.round(online / known * 1e6) / 1e6 : null }
    },
  }
}
