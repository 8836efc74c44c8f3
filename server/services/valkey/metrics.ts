import type { OnlineNodeMetrics, ValkeyRole } from '../../../shared/contracts/seed004'
import type { SampleInput } from '../ingest'
import { keyspaceKeys } from './parse'

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'] as const

/** Bytes as the seed writes memory: "2.1GB", "8GB", "512KB", "0B" (1024-based, one decimal, no trailing ".0"). */
export function formatBytes(bytes: number): string {
  let value = Math.max(0, bytes)
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  const rounded = Math.round(value * 10) / 10
  // 1023.96 KB rounds to 1024: show it as the next unit.
  if (rounded >= 1024 && unit < UNITS.length - 1) return `1${UNITS[unit + 1]}`
  return `${unit === 0 ? Math.round(value) : rounded}${UNITS[unit]}`
}

/** Uptime as the seed writes it: "3d 14h"; under a day "14h 5m", under an hour "5m 3s", under a minute "42s". */
export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds))
  const d = Math.floor(s / 86_400)
  const h = Math.floor((s % 86_400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  if (d > 0) return `${d}d ${h}h`
  if (h > 0) return `${h}h ${m}m`
  if (m > 0) return `${m}m ${s % 60}s`
  return `${s}s`
}

const round1 = (n: number) => Math.round(n * 10) / 10
const int = (info: Record<string, string>, key: string) => {
  const n = Number(info[key])
  return Number.isFinite(n) ? n : 0
}

/** What one poll of a node leaves for the next: its cpu seconds, when they were read, and its run. */
export interface CpuReading { cpuSeconds: number, at: number, runId: string }

/**
 * Cpu percent of one core from the change of used_cpu_sys + used_cpu_user since the previous poll;
 * on the first poll (or after a restart of the node) the average since the node started.
 */
export function cpuPercent(info: Record<string, string>, now: number, prev?: CpuReading): { percent: number, reading: CpuReading } {
  const cpuSeconds = Number(info.used_cpu_sys ?? 0) + Number(info.used_cpu_user ?? 0)
  const reading: CpuReading = { cpuSeconds, at: now, runId: info.run_id ?? '' }
  const elapsed = prev ? (now - prev.at) / 1000 : 0
  if (prev && prev.runId === reading.runId && elapsed > 0 && cpuSeconds >= prev.cpuSeconds) {
    return { percent: round1(((cpuSeconds - prev.cpuSeconds) / elapsed) * 100), reading }
  }
  const uptime = int(info, 'uptime_in_seconds')
  return { percent: uptime > 0 ? round1((cpuSeconds / uptime) * 100) : 0, reading }
}

/** The node's identity in the cluster, which INFO does not know. */
export interface NodeIdentity { nodeId: string, nodeAddress: string, role: ValkeyRole, slots: string }

/**
 * Seed 004's metrics of an online node from its INFO (server, memory, stats, clients, cpu,
 * keyspace); `keyCount` is DBSIZE for masters and INFO keyspace's count for replicas. Memory's
 * maximum is `maxmemory`, or the host's memory when no limit is set (`maxmemory 0`).
 */
export function nodeMetrics(id: NodeIdentity, info: Record<string, string>, cpu: number, dbsize: number | null): OnlineNodeMetrics {
  const usedBytes = int(info, 'used_memory')
  const maxBytes = int(info, 'maxmemory') || int(info, 'total_system_memory')
  return {
    ...id,
    status: 'online',
    memory: {
      used: formatBytes(usedBytes), max: formatBytes(maxBytes), usedBytes, maxBytes,
      percent: maxBytes > 0 ? round1((usedBytes / maxBytes) * 100) : 0,
    },
    // One thread executes commands (io-threads only move bytes), so the percent is of one core.
    cpu: { percent: cpu, cores: 1 },
    connections: int(info, 'connected_clients'),
    opsPerSec: int(info, 'instantaneous_ops_per_sec'),
    uptime: formatUptime(int(info, 'uptime_in_seconds')),
    keyCount: dbsize ?? keyspaceKeys(info),
    slots: id.slots,
  }
}

/**
 * The stats sample a Valkey node's INFO becomes (what every stream, page and chart shows): cpu and
 * memory percent, no disk, uptime, and the background saves and AOF rewrites in progress as backups.
 */
export function sampleFromInfo(info: Record<string, string>, metrics: OnlineNodeMetrics, ts: Date): SampleInput {
  return {
    ts,
    cpuPercent: Math.min(100, Math.max(0, metrics.cpu.percent)),
    // Unrounded: a small node on a large host is a fraction of a percent, not 0.
    memoryPercent: metrics.memory.maxBytes > 0 ? Math.min(100, (metrics.memory.usedBytes / metrics.memory.maxBytes) * 100) : 0,
    diskPercent: null,
    uptimeSeconds: int(info, 'uptime_in_seconds'),
    activeBackups: int(info, 'rdb_bgsave_in_progress') + int(info, 'aof_rewrite_in_progress'),
  }
}
