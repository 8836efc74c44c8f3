import type { ClusterAggregate, NodeAggregate } from '../../shared/contracts/seed001'
import type { ReportEntry } from './journal'
import { toNodeStats, type Registry } from './registry'
import { startedInstance } from './started'
import type { StatusThresholds } from './status'

interface NodeWindow { reports: number, cpu: number, memory: number, memoryN: number, disk: number, diskN: number }
interface Window { start: number, reports: number, rejected: number, nodes: Map<number, NodeWindow> }

export interface AggregatorOptions extends StatusThresholds { windowMs: number, windowCount: number }

/**
 * Rolling-window aggregates of stats reports (seed 001's aggregator): `windowCount` windows of
 * `windowMs` each; memory is bounded by windows × nodes, whatever the report rate.
 */
export function createAggregator(registry: Registry, opts: AggregatorOptions) {
  const windows: Window[] = []
  // Since this instance started, in memory: reports stored by any instance on the database, reports
  // refused by this one (refusals are not stored). README "Seed 001 payloads" says so to clients.
  let totalReports = 0
  let totalRejected = 0
  let lastUpdated = Date.now()

  function current(now: number): Window {
    const start = now - (now % opts.windowMs)
    let w = windows.at(-1)
    if (!w || w.start !== start) {
      windows.push((w = { start, reports: 0, rejected: 0, nodes: new Map() }))
      while (windows.length > opts.windowCount) windows.shift()
    }
    return w
  }

  const inWindows = (now: number) => windows.filter(w => w.start > now - opts.windowMs * opts.windowCount)

  function perNode(id: number, now: number) {
    let reports = 0, cpu = 0, memory = 0, memoryN = 0, disk = 0, diskN = 0
    for (const w of inWindows(now)) {
      const n = w.nodes.get(id)
      if (!n) continue
      reports += n.reports
      cpu += n.cpu
      memory += n.memory
      memoryN += n.memoryN
      disk += n.disk
      diskN += n.diskN
    }
    const avg = (sum: number, n: number) => (n ? Math.round((sum / n) * 10) / 10 : null)
    return { reports, avg_cpu_percent: avg(cpu, reports), avg_memory_percent: avg(memory, memoryN), avg_disk_percent: avg(disk, diskN) }
  }

  /** One node's figures over the kept windows, with its live state; undefined for an unknown node. */
  function nodeAggregate(id: number, now = Date.now()): NodeAggregate | undefined {
    const node = registry.get(id)
    if (!node) return undefined
    const s = toNodeStats(node, now, opts)
    return { node_id: id, hostname: node.hostname, status: s.status, is_master: s.is_master, cpu_percent: s.cpu_percent, memory_percent: s.memory_percent, disk_percent: s.disk_percent, active_backups: s.active_backups, last_seen: s.last_seen, ...perNode(id, now) }
  }

  return {
    /** Counts one stored sample. */
    record(r: ReportEntry, now = Date.now()): void {
      const w = current(now)
      w.reports++
      totalReports++
      let n = w.nodes.get(r.nodeId)
      if (!n) w.nodes.set(r.nodeId, (n = { reports: 0, cpu: 0, memory: 0, memoryN: 0, disk: 0, diskN: 0 }))
      n.reports++
      n.cpu += r.cpuPercent
      // Valkey nodes report no disk: they count toward cpu, not the disk average.
      if (r.diskPercent !== null) {
        n.disk += r.diskPercent
        n.diskN++
      }
      if (r.memoryPercent !== null) {
        n.memory += r.memoryPercent
        n.memoryN++
      }
      lastUpdated = now
    },

    /** Counts one refused report. */
    reject(now = Date.now()): void {
      current(now).rejected++
      totalRejected++
      lastUpdated = now
    },

    node: nodeAggregate,

    /** The cluster aggregate: counts by status, totals, the last minute's rate, averages of the latest figures. */
    snapshot(now = Date.now()): ClusterAggregate {
      const nodes = registry.list().map(n => toNodeStats(n, now, opts))
      const kept = inWindows(now)
      // Reports of the last 60 s: a window that only partly overlaps it counts pro rata.
      const since = now - 60_000
      const lastMinute = kept.reduce((sum, w) => {
        const end = Math.min(w.start + opts.windowMs, now)
        const overlap = end - Math.max(w.start, since)
        return overlap > 0 ? sum + w.reports * (overlap / Math.max(1, end - w.start)) : sum
      }, 0)
      const mean = (values: (number | null)[]) => {
        const v = values.filter((x): x is number => x !== null)
        return v.length ? Math.round((v.reduce((a, b) => a + b, 0) / v.length) * 10) / 10 : null
      }
      const aggregates = nodes.map(n => nodeAggregate(n.id, now)!)
      return {
        total_nodes: nodes.length,
        online: nodes.filter(n => n.status === 'online').length,
        stale: nodes.filter(n => n.status === 'stale').length,
        offline: nodes.filter(n => n.status === 'offline').length,
        total_reports: totalReports,
        rejected_reports: totalRejected,
        reports_per_minute: Math.round(lastMinute),
        avg_cpu_percent: mean(nodes.map(n => n.cpu_percent)),
        avg_memory_percent: mean(nodes.map(n => n.memory_percent)),
        avg_disk_percent: mean(nodes.map(n => n.disk_percent)),
        active_backups: nodes.reduce((a, n) => a + (n.active_backups ?? 0), 0),
        window_start: Math.floor((kept[0]?.start ?? now) / 1000),
        last_updated: Math.floor(lastUpdated / 1000),
        nodes: aggregates,
        // Seed 001's own words, so clients written against it run as written (its browser example
        // calls `total_cost.toFixed()` and `providers.length`): a node is a provider, a report a
        // request; nodes have no tokens or cost. `providers` stays small: the figures are in `nodes`.
        total_requests: totalReports,
        total_tokens: 0,
        total_cost: 0,
        providers: aggregates.map(a => ({ provider_id: a.node_id, total_requests: a.reports })),
      }
    },
  }
}

export type Aggregator = ReturnType<typeof createAggregator>

const running = startedInstance<Aggregator>()
/** The running aggregator; 503 while there is none. */
export const useAggregator = running.use
/** Sets (or, with undefined, clears) the running aggregator. */
export const setAggregator = running.set
