import { collectDefaultMetrics, Counter, Gauge, Registry as PromRegistry } from 'prom-client'
import type { Hub } from './streams/hub'
import type { Ingest } from './ingest'
import { toNodeStats, type Registry } from './registry'
import { startedInstance } from './started'
import type { StatusThresholds } from './status'

/**
 * Prometheus metrics: the seed's SSE series, per-node gauges, ingest counters and process
 * metrics. Gauges are read from memory at scrape time; nothing is kept per scrape.
 */
export function createMetrics(deps: { hub: Hub, registry: Registry, ingest: Ingest, thresholds: StatusThresholds, onReject?: () => void, housekeepingLastRun?: () => Date | null }) {
  const register = new PromRegistry()
  // The event-loop lag histogram samples with a timer; prom-client's 10 ms woke an idle server
  // 100 times a second (about a third of its idle CPU). Once a second still catches real stalls.
  collectDefaultMetrics({ register, eventLoopMonitoringPrecision: 1000 })
  const { hub, registry, ingest, thresholds } = deps

  // Counters mirror the hub's own tallies, so they are set (as increments) at scrape time.
  const seen = { sent: new Map<string, number>(), disconnects: new Map<string, number>(), reports: 0, samples: 0 }
  const bump = (counter: Counter<string>, key: Map<string, number>, label: string, name: string, value: number) => {
    // inc by 0 still creates the series, so every reason shows from the first scrape.
    counter.inc({ [name]: label }, Math.max(0, value - (key.get(label) ?? 0)))
    key.set(label, value)
  }

  new Gauge({ name: 'sse_clients_total', help: 'Connected SSE clients', registers: [register], collect() {
    this.set(hub.stats().total_clients)
  } })
  const sent = new Counter({ name: 'sse_events_sent_total', help: 'SSE messages written to clients, by channel', labelNames: ['channel'], registers: [register], collect() {
    for (const [channel, n] of Object.entries(hub.stats().events_sent_by_channel)) bump(sent, seen.sent, channel, 'channel', n)
  } })
  const disconnections = new Counter({ name: 'sse_disconnections_total', help: 'SSE clients disconnected, by reason', labelNames: ['reason'], registers: [register], collect() {
    for (const [reason, n] of Object.entries(hub.stats().disconnects)) bump(disconnections, seen.disconnects, reason, 'reason', n)
  } })
  const reports = new Counter({ name: 'nodepulse_reports_total', help: 'Stats reports stored', registers: [register], collect() {
    const n = ingest.stats().reports
    if (n > seen.reports) reports.inc(n - seen.reports)
    seen.reports = n
  } })
  const samples = new Counter({ name: 'nodepulse_samples_total', help: 'Stats samples received in stored reports', registers: [register], collect() {
    const n = ingest.stats().samples
    if (n > seen.samples) samples.inc(n - seen.samples)
    seen.samples = n
  } })
  const rejected = new Counter({ name: 'nodepulse_reports_rejected_total', help: 'Stats reports refused, by HTTP status', labelNames: ['status'], registers: [register] })

  // Only the leader runs housekeeping: the series is 0 on the others, so
  // `time() - max(nodepulse_housekeeping_last_run_timestamp_seconds) > 7200` means no one does.
  new Gauge({ name: 'nodepulse_housekeeping_last_run_timestamp_seconds', help: 'When retention and token clean-up last finished on this instance (unix seconds); 0 until it has', registers: [register], collect() {
    const at = deps.housekeepingLastRun?.()
    if (at) this.set(at.getTime() / 1000)
  } })

  const perNode = (name: string, help: string, pick: (s: ReturnType<typeof toNodeStats>) => number | null) => new Gauge({
    name, help, labelNames: ['node', 'hostname'], registers: [register], collect() {
      this.reset()
      const now = Date.now()
      for (const node of registry.list()) {
        const value = pick(toNodeStats(node, now, thresholds))
        if (value !== null) this.set({ node: String(node.id), hostname: node.hostname }, value)
      }
    },
  })
  perNode('nodepulse_node_up', '1 while the node is online, 0 when stale or offline', s => (s.status === 'online' ? 1 : 0))
  perNode('nodepulse_node_cpu_percent', 'Latest CPU use of the node, percent', s => s.cpu_percent)
  perNode('nodepulse_node_memory_percent', 'Latest memory use of the node, percent', s => s.memory_percent)
  perNode('nodepulse_node_disk_percent', 'Latest disk use of the node, percent', s => s.disk_percent)

  return {
    register,
    /** Counts a refused stats report. */
    rejectReport: (status: number) => {
      rejected.inc({ status: String(status) })
      deps.onReject?.()
    },
    /** The exposition text. */
    render: () => register.metrics(),
    contentType: register.contentType,
  }
}

export type Metrics = ReturnType<typeof createMetrics>

const running = startedInstance<Metrics>()
/** The running Prometheus metrics (503 until start-up has finished). */
export const useMetrics = running.use
/** Publishes the running Prometheus metrics (start-up) or withdraws them (stop). */
export const setMetrics = running.set
