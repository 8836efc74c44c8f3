/**
 * What `nodepulse top` draws, as plain functions of a snapshot: the cluster totals, the node
 * table sorted by a key and fitted to a width (hostnames truncated, columns dropped), with ANSI
 * colour only when asked for. No terminal handling here.
 */
import type { NodeLiveState, NodeStats, NodeStatsSnapshot } from '../../shared/contracts/seed000'

export const SORT_KEYS = ['status', 'name', 'cpu', 'mem', 'disk'] as const
export type SortKey = (typeof SORT_KEYS)[number]

/** The key that sorts by each sort key in the live view. */
export const SORT_BY_KEY: Record<string, SortKey> = { s: 'status', n: 'name', c: 'cpu', m: 'mem', d: 'disk' }

export interface Sort { key: SortKey, /** Reversed from the key's natural order. */ reverse: boolean }

export interface Totals {
  nodes: number
  online: number
  unreachable: number
  stale: number
  offline: number
  /** Averages over online nodes that report the figure; null when none does. */
  cpu: number | null
  mem: number | null
  disk: number | null
}

/** Counts by state (as the events tell it) and averages over the online nodes, whose figures are current. */
export function clusterTotals(nodes: NodeStats[]): Totals {
  const online = nodes.filter(n => n.state === 'online')
  const avg = (pick: (n: NodeStats) => number | null) => {
    const values = online.map(pick).filter((v): v is number => v !== null)
    return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null
  }
  return {
    nodes: nodes.length,
    online: online.length,
    unreachable: nodes.filter(n => n.state === 'unreachable').length,
    stale: nodes.filter(n => n.state === 'stale').length,
    offline: nodes.filter(n => n.state === 'offline').length,
    cpu: avg(n => n.cpu_percent),
    mem: avg(n => n.memory_percent),
    disk: avg(n => n.disk_percent),
  }
}

// Problems first: a node that stopped reporting matters more than one that is fine.
const STATUS_RANK: Record<NodeLiveState, number> = { offline: 0, stale: 1, unreachable: 2, pending: 3, online: 4 }
const byName = (a: NodeStats, b: NodeStats) => a.hostname.localeCompare(b.hostname) || a.id - b.id
// Busiest first; a node without the figure goes last.
const byFigure = (pick: (n: NodeStats) => number | null) => (a: NodeStats, b: NodeStats) =>
  (pick(b) ?? -1) - (pick(a) ?? -1) || byName(a, b)
const COMPARE: Record<SortKey, (a: NodeStats, b: NodeStats) => number> = {
  status: (a, b) => STATUS_RANK[a.state] - STATUS_RANK[b.state] || byName(a, b),
  name: byName,
  cpu: byFigure(n => n.cpu_percent),
  mem: byFigure(n => n.memory_percent),
  disk: byFigure(n => n.disk_percent),
}

/** The nodes in the sort's order (a new array). */
export function sortNodes(nodes: NodeStats[], sort: Sort): NodeStats[] {
  const compare = COMPARE[sort.key]
  return [...nodes].sort(sort.reverse ? (a, b) => compare(b, a) : compare)
}

/** Seconds as the two largest units: "45s", "12m 5s", "5h 12m", "12d 3h". */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '-'
  const s = Math.floor(seconds)
  const units: [number, string][] = [[86_400, 'd'], [3600, 'h'], [60, 'm'], [1, 's']]
  const i = units.findIndex(([size]) => s >= size)
  if (i === -1) return '0s'
  const [size, unit] = units[i]!
  const head = `${Math.floor(s / size)}${unit}`
  const next = units[i + 1]
  const rest = next ? Math.floor((s % size) / next[0]) : 0
  return next && rest ? `${head} ${rest}${next[1]}` : head
}

/** How long before `now` a node last reported: "now", "12s ago", "5m ago", "3h ago", "2d ago", "never". */
export function formatAgo(lastSeen: string | null, now: string): string {
  if (lastSeen === null) return 'never'
  const seconds = (Date.parse(now) - Date.parse(lastSeen)) / 1000
  if (!Number.isFinite(seconds)) return '-'
  if (seconds < 1) return 'now'
  const units: [number, string][] = [[86_400, 'd'], [3600, 'h'], [60, 'm'], [1, 's']]
  const [size, unit] = units.find(([size]) => seconds >= size)!
  return `${Math.floor(seconds / size)}${unit} ago`
}

const percent = (v: number | null) => (v === null || !Number.isFinite(v) ? '-' : v.toFixed(1))

// Whatever a server sends as a hostname must not reach the terminal as control codes.
// eslint-disable-next-line no-control-regex
const printable = (s: string) => s.replace(/[\u0000-\u001F\u007F-\u009F]/g, '?')

/** `s` cut to `width` characters, the cut marked with '~'. */
export function truncate(s: string, width: number): string {
  if (width <= 0) return ''
  return s.length <= width ? s : `${s.slice(0, width - 1)}~`
}

const ESC = '\u001B['
const paint = (code: string) => (text: string) => `${ESC}${code}m${text}${ESC}0m`
const GREEN = paint('32')
const YELLOW = paint('33')
const RED = paint('31')
const INVERSE = paint('7')
const BOLD = paint('1')
const DIM = paint('2')
const MAGENTA = paint('35')
const STATUS_COLOUR: Record<NodeLiveState, (t: string) => string> = { online: GREEN, unreachable: MAGENTA, stale: YELLOW, offline: RED, pending: DIM }
// A silent node's figures are its last known ones: dim, never in alarm colours as if they were now.
const load = (n: NodeStats, v: number | null) => (t: string) => (n.state !== 'online' ? DIM(t) : v === null ? t : v >= 90 ? RED(t) : v >= 75 ? YELLOW(t) : t)

interface Column {
  title: string
  width: number
  align: 'left' | 'right'
  /** Lower goes first when the table is too wide; Infinity never goes. */
  keep: number
  sort?: SortKey
  cell: (n: NodeStats, now: string) => string
  colour?: (n: NodeStats) => (text: string) => string
}

/** The host column's narrowest and widest. */
const HOST = { min: 8, max: 40 }
const GAP = 2

const COLUMNS: Column[] = [
  { title: 'ID', width: 5, align: 'right', keep: 1, cell: n => String(n.id) },
  { title: 'HOST', width: HOST.min, align: 'left', keep: Infinity, sort: 'name', cell: n => printable(n.hostname) },
  { title: 'STATUS', width: 11, align: 'left', keep: Infinity, sort: 'status', cell: n => n.state, colour: n => STATUS_COLOUR[n.state] ?? (t => t) },
  { title: 'CPU%', width: 5, align: 'right', keep: Infinity, sort: 'cpu', cell: n => percent(n.cpu_percent), colour: n => load(n, n.cpu_percent) },
  { title: 'MEM%', width: 5, align: 'right', keep: 5, sort: 'mem', cell: n => percent(n.memory_percent), colour: n => load(n, n.memory_percent) },
  { title: 'DISK%', width: 5, align: 'right', keep: 4, sort: 'disk', cell: n => percent(n.disk_percent), colour: n => load(n, n.disk_percent) },
  { title: 'UPTIME', width: 8, align: 'right', keep: 2, cell: n => formatDuration(n.uptime_seconds) },
  { title: 'LAST SEEN', width: 9, align: 'right', keep: 3, cell: (n, now) => formatAgo(n.last_seen, now) },
]

/** The columns that fit `width`, the host column widened to the longest hostname (up to 40). */
export function fitColumns(width: number, nodes: NodeStats[]): Column[] {
  let cols = [...COLUMNS]
  const total = (cs: Column[]) => cs.reduce((sum, c) => sum + c.width, 0) + GAP * (cs.length - 1)
  while (total(cols) > width) {
    const drop = cols.reduce((a, b) => (b.keep < a.keep ? b : a))
    if (drop.keep === Infinity) break
    cols = cols.filter(c => c !== drop)
  }
  const longest = Math.max(HOST.min, ...nodes.map(n => n.hostname.length))
  const host = Math.max(HOST.min, Math.min(HOST.max, longest, HOST.min + width - total(cols)))
  return cols.map(c => (c.title === 'HOST' ? { ...c, width: host } : c))
}

const pad = (text: string, width: number, align: 'left' | 'right') =>
  align === 'left' ? truncate(text, width).padEnd(width) : truncate(text, width).padStart(width)

export interface RenderOptions {
  /** Terminal columns. */
  width: number
  /** Terminal rows: the table stops where the screen does (a line says how many more). */
  height?: number
  colour: boolean
  sort: Sort
  /** The server's address, for the title. */
  server: string
  /** The connection's state when it is not live ("reconnecting in 4s: ECONNREFUSED"). */
  status?: string
  /** The key help line (the live view only). */
  keys?: boolean
}

const fmtAvg = (v: number | null) => (v === null ? '-' : `${v.toFixed(1)}%`)
const clock = (iso: string) => (Number.isNaN(Date.parse(iso)) ? iso : new Date(iso).toISOString().slice(11, 19))

/** The whole view: totals, the connection status, the table header and one line per node. */
export function renderView(snapshot: NodeStatsSnapshot | null, opts: RenderOptions): string[] {
  const { width, colour } = opts
  const fit = (line: string) => truncate(line, width)
  const nodes = snapshot?.nodes ?? []
  const t = clusterTotals(nodes)
  const counts = colour
    ? `${GREEN(`${t.online} online`)}, ${MAGENTA(`${t.unreachable} unreachable`)}, ${YELLOW(`${t.stale} stale`)}, ${RED(`${t.offline} offline`)}`
    : `${t.online} online, ${t.unreachable} unreachable, ${t.stale} stale, ${t.offline} offline`
  const title = fit(`nodepulse top  ${printable(opts.server)}  ${snapshot ? `${clock(snapshot.timestamp)} UTC` : 'waiting for data'}`)
  const countsPlain = `${t.nodes} nodes: ${t.online} online, ${t.unreachable} unreachable, ${t.stale} stale, ${t.offline} offline`
  // The coloured line has escape codes, so fit the plain one and colour it only when it fits whole.
  const countsLine = countsPlain.length <= width ? `${t.nodes} nodes: ${counts}` : fit(countsPlain)
  const avg = fit(`avg of online: cpu ${fmtAvg(t.cpu)}  mem ${fmtAvg(t.mem)}  disk ${fmtAvg(t.disk)}`)
  const lines = [colour ? BOLD(title) : title, countsLine, avg]
  if (opts.status) lines.push(colour ? YELLOW(fit(opts.status)) : fit(opts.status))
  if (opts.keys) lines.push(fit(`sort: ${opts.sort.key}${opts.sort.reverse ? ' (reversed)' : ''}   keys: c cpu  m mem  d disk  n name  s status  r reverse  q quit`))

  const cols = fitColumns(width, nodes)
  const mark = (c: Column) => (c.sort === opts.sort.key ? '*' : '')
  const header = cols.map(c => pad(`${c.title}${mark(c)}`, c.width, c.align)).join(' '.repeat(GAP))
  // Plain tables are separated by a blank line, so none inside one.
  if (opts.keys) lines.push('')
  lines.push(colour ? INVERSE(header.padEnd(width)) : header.trimEnd())
  const sorted = sortNodes(nodes, opts.sort)
  const room = opts.height === undefined ? sorted.length : Math.max(0, opts.height - lines.length)
  const shown = sorted.length > room ? sorted.slice(0, Math.max(0, room - 1)) : sorted
  for (const n of shown) {
    const cells = cols.map((c) => {
      const text = pad(c.cell(n, snapshot!.timestamp), c.width, c.align)
      return colour && c.colour ? c.colour(n)(text) : text
    })
    lines.push(colour ? cells.join(' '.repeat(GAP)) : cells.join(' '.repeat(GAP)).trimEnd())
  }
  if (shown.length < sorted.length) lines.push(fit(`... ${sorted.length - shown.length} more (make the window taller)`))
  return lines
}
