/**
 * Seed 003 (003_5ac4282d20f22565.txt): one NodePulse aggregating others ("members") by polling them.
 * The seed's "readings" are our stats samples and its "observations" our events.
 *
 * Member API, served read-only by every NodePulse server (a viewer API token reads it):
 * - `GET /api/nodes`: {@link MemberNodesBody} — this server's nodes, each with its stable `source`.
 * - `GET /api/readings?since=&limit=`: {@link ReadingsBody} — samples after the cursor `since`, oldest first.
 * - `GET /api/observations?since=&limit=`: {@link ObservationsBody} — events after the cursor `since`.
 * - `GET /api/stats`: {@link MemberStatsBody} — totals and a per-node breakdown.
 * `since` is the `next_cursor` an earlier answer gave (absent: from the oldest row kept). Cursors grow
 * with commit order, so an aggregator that stores the cursor with what it fetched neither loses nor
 * repeats rows across restarts of either side.
 *
 * Cluster API on the aggregator, in seed 004's envelope `{status, data, timestamp}`:
 * `GET /api/cluster/readings`, `/api/cluster/observations` ({@link ClusterReadingsData},
 * {@link ClusterObservationsData}; `?node=&member=&since=&limit=`) and `/api/cluster/stats`
 * ({@link ClusterStatsData}); `GET /api/cluster/nodes` lists member nodes among the others.
 *
 * Members are configured in the YAML file at NODEPULSE_CONFIG (`cluster:` as the seed writes it) and
 * through `/api/v1/members` ({@link MemberView}).
 */
import { z } from 'zod'
import { DEFAULT_PAGE, MAX_PAGE } from './limits'
import { NODE_STATUSES } from './seed000'
import { SEVERITIES } from './seed002'

export { DEFAULT_PAGE, MAX_PAGE }

/** An opaque position a member hands out: pass the last answer's `next_cursor` back as `since`. */
export const cursorSchema = z.string().regex(/^(0|[1-9]\d{0,15})$/, 'must be a cursor a previous answer gave (next_cursor)')

const limitParam = z.string().regex(/^\d{1,7}$/, `must be a whole number from 1 to ${MAX_PAGE}`).transform(Number)
  .pipe(z.number().min(1, 'must be at least 1').max(MAX_PAGE, `must be at most ${MAX_PAGE}`))

/** `?since=&limit=` of the member API. */
export const pageQuery = z.object({
  since: cursorSchema.optional(),
  limit: limitParam.optional(),
}).transform(q => ({ since: q.since === undefined ? undefined : Number(q.since), limit: q.limit ?? DEFAULT_PAGE }))
export type PageQuery = z.output<typeof pageQuery>

/** `?node=&member=&since=&limit=` of the cluster API: `node` a NodePulse id, `member` a member's name. */
export const clusterPageQuery = z.object({
  node: z.string().regex(/^[1-9]\d{0,9}$/, 'must be a node id').transform(Number).optional(),
  member: z.string().min(1).max(64).optional(),
  since: cursorSchema.optional(),
  limit: limitParam.optional(),
}).transform(q => ({
  node: q.node, member: q.member, since: q.since === undefined ? undefined : Number(q.since), limit: q.limit ?? DEFAULT_PAGE,
}))
export type ClusterPageQuery = z.output<typeof clusterPageQuery>

const text = (max: number) => z.string().max(max)
const figure = z.number().finite().nullable()

/**
 * A node's stable identity across servers, the seed's `source_type:source_id`: `nodepulse:<instance>/<id>`
 * for a server's own nodes, `valkey:<cluster node id>` for Valkey nodes; a member's nodes keep theirs.
 */
export const sourceSchema = text(300).regex(/^[a-z]+:\S+$/, 'must be source_type:source_id')

/** A node as the member API shows it (each reading and observation names its node this way). */
export const nodeRef = z.object({ id: z.number().int(), source: sourceSchema, hostname: text(300) })
export type NodeRef = z.output<typeof nodeRef>

/** One node of a member. `member` is set when the member itself aggregated it from another. */
export const memberNode = nodeRef.extend({
  kind: text(20),
  labels: z.record(text(64), text(255)).refine(l => Object.keys(l).length <= 40, 'at most 40 labels'),
  status: z.enum(NODE_STATUSES),
  last_seen: z.string().nullable(),
  member: text(64).nullable(),
})
export type MemberNode = z.output<typeof memberNode>

export const memberNodesBody = z.object({
  /** This server's instance id (the `<instance>` of its nodes' sources). */
  instance: text(64),
  nodes: z.array(memberNode).max(10_000),
})
export type MemberNodesBody = z.output<typeof memberNodesBody>

const percent = z.number().finite().min(0).max(100)

/** One stats sample and its node (the ingest's bounds, so a member's sample always stores). */
export const reading = z.object({
  id: z.number().int(),
  node: nodeRef,
  timestamp: z.string().datetime({ offset: true }),
  cpu_percent: percent,
  memory_percent: percent.nullable(),
  disk_percent: percent.nullable(),
  uptime_seconds: z.number().int().min(0).max(3_155_760_000).nullable(),
  active_backups: z.number().int().min(0).max(1_000_000).nullable(),
})
export type Reading = z.output<typeof reading>

/** A page of readings; `more` says another page is ready after `next_cursor`. */
export const readingsBody = z.object({ readings: z.array(reading).max(MAX_PAGE), next_cursor: cursorSchema, more: z.boolean() })
export type ReadingsBody = z.output<typeof readingsBody>

/** Nesting deeper than this in an event's `data` is refused (it is stored as jsonb and streamed as JSON). */
const MAX_DATA_DEPTH = 16
/** An event's `data` as JSON is at most this many characters. */
const MAX_DATA_CHARS = 64 * 1024

/** Whether a parsed JSON value nests at most `max` levels (checked without recursion). */
function shallow(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length) {
    const [v, depth] = stack.pop()!
    if (v === null || typeof v !== 'object') continue
    if (depth >= max) return false
    for (const child of Object.values(v)) stack.push([child, depth + 1])
  }
  return true
}

/** One event (seed 002's fields) and its node, if it is about one. */
export const observation = z.object({
  id: z.number().int(),
  event_type: text(64),
  severity: z.enum(SEVERITIES),
  node: nodeRef.nullable(),
  cluster_id: text(200).nullable(),
  resource_type: text(64),
  message: text(2000),
  data: z.record(z.string(), z.unknown()).superRefine((d, ctx) => {
    // Depth first: JSON.stringify of a deeper value could overflow the stack.
    if (!shallow(d, MAX_DATA_DEPTH)) ctx.addIssue({ code: 'custom', message: `must nest at most ${MAX_DATA_DEPTH} levels` })
    else if (JSON.stringify(d).length > MAX_DATA_CHARS) ctx.addIssue({ code: 'custom', message: `must be at most ${MAX_DATA_CHARS} characters as JSON` })
  }),
  created_at: z.string().datetime({ offset: true }),
})
export type Observation = z.output<typeof observation>

export const observationsBody = z.object({ observations: z.array(observation).max(MAX_PAGE), next_cursor: cursorSchema, more: z.boolean() })
export type ObservationsBody = z.output<typeof observationsBody>

/** Totals over a set of nodes. */
export const statsTotals = z.object({
  nodes: z.number().int(),
  online: z.number().int(),
  stale: z.number().int(),
  offline: z.number().int(),
  samples: z.number().int(),
  events: z.number().int(),
})
export type StatsTotals = z.output<typeof statsTotals>

/** One node's share of the stats, with its newest figures. */
export const nodeStatsEntry = nodeRef.extend({
  kind: text(20),
  member: text(64).nullable(),
  status: z.enum(NODE_STATUSES),
  last_seen: z.string().nullable(),
  samples: z.number().int(),
  events: z.number().int(),
  cpu_percent: figure,
  memory_percent: figure,
  disk_percent: figure,
})
export type NodeStatsEntry = z.output<typeof nodeStatsEntry>

export const memberStatsBody = z.object({ totals: statsTotals, nodes: z.array(nodeStatsEntry).max(10_000) })
export type MemberStatsBody = z.output<typeof memberStatsBody>

// ─── Members (the aggregator's side) ────────────────────────────────────────────────────────

export const memberName = z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters')
  .regex(/^[\w.-]+$/, 'may hold only letters, digits, ".", "-" and "_"')
export const memberUrl = z.string().trim().refine(u => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), 'must be an http:// or https:// URL')
  .transform(u => u.replace(/\/+$/, ''))

/** `POST /api/v1/members`. */
export const createMemberBody = z.strictObject({
  name: memberName,
  url: memberUrl,
  token: z.string().min(1, 'must not be empty').max(512, 'must be at most 512 characters'),
})
export type CreateMemberBody = z.output<typeof createMemberBody>

/** A member as `/api/v1/members` shows it (never its token). */
export interface MemberView {
  id: number
  name: string
  url: string
  /** `file` when NODEPULSE_CONFIG lists it, `api` when added through the API, `mdns` when found by mDNS discovery. */
  origin: 'file' | 'api' | 'mdns'
  /** null before the first poll. */
  reachable: boolean | null
  last_error: string | null
  last_polled_at: string | null
  last_ok_at: string | null
  nodes: number
}

/**
 * A server found by mDNS discovery (`GET /api/v1/members/discovered`): `member` once it is a member
 * (polled), `no_token` while no token is configured for it, `name_taken` when a member of that name
 * was configured by hand at another URL, `unusable` when its announcement gives no address.
 */
export interface DiscoveredMemberView {
  name: string
  url: string | null
  /** The instance id it announced (TXT `id`). */
  instance: string | null
  /** Its mDNS service name. */
  service: string
  found_at: string
  state: 'member' | 'no_token' | 'name_taken' | 'unusable'
  member_id: number | null
  /** What to do about it, when anything. */
  message: string | null
}

// ─── Cluster API data (inside seed 004's envelope) ──────────────────────────────────────────

/** A node as the cluster API names it: `member` is null for this server's own nodes. */
export interface ClusterNodeRef { id: number, hostname: string, kind: string, member: string | null }

export interface ClusterReading extends Omit<Reading, 'node'> { node: ClusterNodeRef }
export interface ClusterReadingsData { readings: ClusterReading[], next_cursor: string, timestamp: string }

export interface ClusterObservation extends Omit<Observation, 'node'> { node: ClusterNodeRef | null }
export interface ClusterObservationsData { observations: ClusterObservation[], next_cursor: string, timestamp: string }

/** One member's share: its reachability and its nodes' totals. */
export interface MemberStatsEntry extends StatsTotals {
  name: string
  url: string
  reachable: boolean | null
  last_error: string | null
  last_ok_at: string | null
}

export interface ClusterStatsData {
  totals: StatsTotals & { members: number, reachable_members: number }
  nodes: NodeStatsEntry[]
  members: MemberStatsEntry[]
  timestamp: string
}
