import { loadavg } from 'node:os'
import si from 'systeminformation'
import type { SampleInput } from './ingest'

const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits
const clampPercent = (n: number): number => Math.min(100, Math.max(0, round(n)))

/** Picks the filesystem that holds `path`: the longest mount point that is a prefix of it. */
export function pickFilesystem<T extends { mount: string }>(filesystems: T[], path: string): T | undefined {
  const within = (mount: string) => path === mount || path.startsWith(mount.endsWith('/') ? mount : `${mount}/`)
  return filesystems.filter(f => within(f.mount)).sort((a, b) => b.mount.length - a.mount.length)[0]
}

let osInfo: Promise<Record<string, string>> | undefined

/** The host's OS description, read once (it does not change while NodePulse runs). */
export function readOs(): Promise<Record<string, string>> {
  osInfo ??= si.osInfo().then(o => ({ platform: o.platform, distro: o.distro, release: o.release, kernel: o.kernel, arch: o.arch, hostname: o.hostname }))
  return osInfo
}

/** Reads the host's stats with systeminformation: the seed's summary plus detail for the node view. */
export async function sampleHost(diskPath: string): Promise<SampleInput> {
  const [load, mem, fs, net, time] = await Promise.all([
    si.currentLoad(), si.mem(), si.fsSize(), si.networkStats('*'), Promise.resolve(si.time()),
  ])
  const disk = pickFilesystem(fs, diskPath)
  const [load1, load5, load15] = loadavg()
  return {
    ts: new Date(),
    cpuPercent: clampPercent(load.currentLoad),
    // "available" excludes reclaimable cache: the figure operators mean by memory in use.
    memoryPercent: mem.total ? clampPercent(((mem.total - mem.available) / mem.total) * 100) : null,
    diskPercent: disk ? clampPercent(disk.use) : 0,
    uptimeSeconds: Math.round(time.uptime),
    activeBackups: 0,
    detail: {
      load: { '1m': round(load1!, 2), '5m': round(load5!, 2), '15m': round(load15!, 2) },
      cpu_cores: load.cpus.map(c => round(c.load)),
      memory: { total_bytes: mem.total, used_bytes: mem.total - mem.available, available_bytes: mem.available, swap_total_bytes: mem.swaptotal, swap_used_bytes: mem.swapused },
      disk: disk ? { mount: disk.mount, fs: disk.fs, size_bytes: disk.size, used_bytes: disk.used, percent: round(disk.use) } : null,
      disks: fs.map(f => ({ mount: f.mount, fs: f.fs, type: f.type, size_bytes: f.size, used_bytes: f.used, percent: round(f.use) })),
      network: net.map(n => ({ iface: n.iface, rx_bytes_per_sec: n.rx_sec === null ? null : round(n.rx_sec), tx_bytes_per_sec: n.tx_sec === null ? null : round(n.tx_sec), rx_bytes: n.rx_bytes, tx_bytes: n.tx_bytes })),
    },
  }
}

/**
 * Samples the host every `intervalSeconds` and hands each sample on; a failing read is logged
 * and the next tick tries again. Returns a stop function.
 */
export function startMasterSampler(intervalSeconds: number, diskPath: string, onSample: (s: SampleInput) => Promise<unknown>): () => Promise<void> {
  let stopped = false
  let running: Promise<void> | null = null
  let timer: NodeJS.Timeout | undefined
  let failures = 0

  const tick = () => {
    running = sampleHost(diskPath).then(onSample).then(() => {
      failures = 0
    }, (error: unknown) => {
      if (failures++ === 0) console.error('[nodepulse] sampling this host failed:', error)
    }).finally(() => {
      running = null
      if (!stopped) timer = setTimeout(tick, intervalSeconds * 1000)
    })
  }
  tick()
  return async () => {
    stopped = true
    clearTimeout(timer)
    await running
  }
}
