/**
 * The host sampler the agent and the server's master node share: one call returns a sample in
 * the wire shape of `statsSample` (shared/contracts/ingest.ts), detail included.
 *
 * On Linux it reads /proc and /sys itself: systeminformation forks `df`, `lsblk` or `cat` for some
 * of these, which an agent sampling every few seconds on a small host cannot afford. Elsewhere
 * systeminformation does the work (loaded only there, so a Linux agent never pays for it).
 */
import { existsSync, promises as fsp, readdirSync, readFileSync } from 'node:fs'
import os from 'node:os'
import type { HostDetail } from './contracts/ingest'
import { DETAIL_LIMITS } from './contracts/limits'

/** One sample as the agent sends it (it passes `statsSample`). */
export interface HostSample {
  cpu_percent: number
  memory_percent: number | null
  disk_percent: number
  uptime_seconds: number
  active_backups: 0
  timestamp: string
  detail: HostDetail
}

export interface HostSampler {
  /** Reads the host now; rates (disk, network) are over the time since the previous call, null on the first. */
  sample: () => Promise<HostSample>
}

export type OsInfo = { platform: string, distro: string, release: string, kernel: string, arch: string, hostname: string }

type Filesystem = NonNullable<HostDetail['disks']>[number]

const MAX_RATE = 1e15
const MAX_BYTES = Number.MAX_SAFE_INTEGER

const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits
const clamp = (n: number, min: number, max: number): number => (Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : min)
const percent = (n: number): number => clamp(round(n), 0, 100)
const bytes = (n: number): number => clamp(Math.round(n), 0, MAX_BYTES)
const rate = (n: number): number => clamp(round(n), 0, MAX_RATE)
const name = (s: string): string => s.slice(0, DETAIL_LIMITS.name)
const summary = (f: Filesystem): NonNullable<HostDetail['disk']> => ({ mount: f.mount, fs: f.fs, size_bytes: f.size_bytes, used_bytes: f.used_bytes, percent: f.percent })

/**
 * Filesystems on local block devices: the only ones statfs runs on each sample (the shell agent
 * keeps the same list). Everything else is left out: pseudo filesystems hold no disk data, and a
 * network filesystem (nfs, cifs, sshfs, glusterfs, ceph, …) can block statfs for minutes when its
 * server is gone — a hard NFS mount blocks it forever — holding a thread of libuv's small pool.
 */
export const LOCAL_FS_TYPES: ReadonlySet<string> = new Set([
  'ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'zfs', 'f2fs', 'jfs', 'reiserfs', 'bcachefs', 'vfat', 'exfat',
  'ntfs', 'ntfs3', 'fuseblk', 'hfsplus', 'nilfs2', 'ufs', 'apfs',
])

/** The mounts whose filesystem is local (see {@link LOCAL_FS_TYPES}), each device once (its first mount: bind mounts are one filesystem). */
export function localMounts<T extends { device: string, type: string }>(mounts: T[]): T[] {
  const seen = new Set<string>()
  return mounts.filter((m) => {
    if (!LOCAL_FS_TYPES.has(m.type) || seen.has(m.device)) return false
    seen.add(m.device)
    return true
  })
}

type StatfsFn = (path: string) => Promise<{ blocks: number, bfree: number, bavail: number, bsize: number }>

/** How long a sample waits for one statfs; a slower one is left out of this sample (and still pending, not started again). */
const STATFS_WAIT_MS = 2_000

/** Picks the filesystem that holds `path`: the longest mount point that is a prefix of it. */
export function pickFilesystem<T extends { mount: string }>(filesystems: T[], path: string): T | undefined {
  const within = (mount: string) => path === mount || path.startsWith(mount.endsWith('/') ? mount : `${mount}/`)
  return filesystems.filter(f => within(f.mount)).sort((a, b) => b.mount.length - a.mount.length)[0]
}

/** Mount points are written with octal escapes for spaces and tabs in /proc/self/mounts. */
const unescapeMount = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)))

/** Parses /proc/self/mounts into `{device, mount, type}` entries. */
export function parseMounts(text: string): { device: string, mount: string, type: string }[] {
  return text.split('\n').filter(Boolean).map((line) => {
    const [device = '', mount = '', type = ''] = line.split(' ')
    return { device: unescapeMount(device), mount: unescapeMount(mount), type }
  })
}

/** Busy and total jiffies of the `cpu` line and of each `cpuN` line of /proc/stat. */
export function parseProcStat(text: string): { all: CpuTimes, cores: CpuTimes[] } {
  let all: CpuTimes = { busy: 0, total: 0 }
  const cores: CpuTimes[] = []
  for (const line of text.split('\n')) {
    const m = /^cpu(\d*)\s+(.*)$/.exec(line)
    if (!m) continue
    // user nice system idle iowait irq softirq steal (guest time is already counted in user)
    const f = m[2]!.trim().split(/\s+/).slice(0, 8).map(Number)
    const total = f.reduce((a, b) => a + b, 0)
    const times = { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total }
    if (m[1] === '') all = times
    else cores.push(times)
  }
  return { all, cores }
}
interface CpuTimes { busy: number, total: number }

const busyPercent = (now: CpuTimes, before: CpuTimes | undefined): number => {
  const total = now.total - (before?.total ?? 0)
  const busy = now.busy - (before?.busy ?? 0)
  // No time has passed since the baseline (or the counters reset): the since-boot figure instead.
  if (total <= 0) return now.total > 0 ? percent((now.busy / now.total) * 100) : 0
  return percent((busy / total) * 100)
}

/** Values of /proc/meminfo in bytes, by key. */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of text.split('\n')) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)(?:\s+kB)?/.exec(line)
    if (m) out[m[1]!] = Number(m[2]) * (line.endsWith('kB') ? 1024 : 1)
  }
  return out
}

/** Sectors read and written (bytes) summed over the named whole disks of /proc/diskstats. */
export function parseDiskstats(text: string, disks: Set<string>): { read: number, written: number } {
  let read = 0
  let written = 0
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f.length < 10 || !disks.has(f[2]!)) continue
    // The kernel counts 512-byte sectors here, whatever the device's real sector size.
    read += Number(f[5]) * 512
    written += Number(f[9]) * 512
  }
  return { read, written }
}

const readText = (path: string): Promise<string | undefined> => fsp.readFile(path, 'utf8').then(t => t, () => undefined)
const listDir = (path: string): Promise<string[]> => fsp.readdir(path).then(l => l, () => [])

/*
 * /proc and the device lists under /sys are kernel memory and answer at once, so they are read
 * synchronously: an async read is four thread-pool round trips (open, fstat, read, close), and
 * every 5 s those were a tenth of an idle server's CPU. Sensors (hwmon) can sit behind slow buses
 * and stay asynchronous.
 */
function readKernelText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  }
  catch {
    return undefined
  }
}
function listKernelDir(path: string): string[] {
  try {
    return readdirSync(path)
  }
  catch {
    return []
  }
}

let osInfo: Promise<OsInfo> | undefined

/** The host's OS description, read once (it does not change while the process runs). */
export function readOsInfo(): Promise<OsInfo> {
  osInfo ??= (async () => {
    const base = { platform: os.platform(), kernel: os.release(), arch: os.machine?.() ?? os.arch(), hostname: os.hostname() }
    if (base.platform !== 'linux') {
      const si = (await import('systeminformation')).default
      const o = await si.osInfo()
      return { ...base, distro: o.distro, release: o.release }
    }
    const release = await readText('/etc/os-release') ?? await readText('/usr/lib/os-release') ?? ''
    const field = (key: string) => new RegExp(`^${key}=("?)(.*)\\1$`, 'm').exec(release)?.[2]
    return { ...base, distro: field('NAME') ?? 'Linux', release: field('VERSION_ID') ?? field('VERSION') ?? '' }
  })()
  return osInfo
}

const osDetail = (o: OsInfo): NonNullable<HostDetail['os']> =>
  ({ platform: name(o.platform), distro: name(o.distro), release: name(o.release), kernel: name(o.kernel), arch: name(o.arch), hostname: name(o.hostname) })

/**
 * Reads filesystems with statfs, never starting one on a mount whose previous statfs is still
 * pending (a hung mount then holds at most one of libuv's threads, not one more per sample), and
 * waiting at most `waitMs` for an answer (a slow one is left out of this sample).
 */
export function createFilesystemReader(statfs: StatfsFn = p => fsp.statfs(p), waitMs = STATFS_WAIT_MS) {
  const pending = new Set<string>()
  /** A filesystem's size and use from statfs, as `df` computes them (reserved blocks count as used-up space); undefined when unreadable or pending. */
  return async function statFilesystem(mount: string, device: string, type: string): Promise<Filesystem | undefined> {
    if (pending.has(mount)) return undefined
    pending.add(mount)
    const call = statfs(mount).finally(() => pending.delete(mount))
    let cancel = () => {}
    try {
      const s = await Promise.race([call, new Promise<undefined>((resolve) => {
        const t = setTimeout(resolve, waitMs)
        // Not keeping the process alive for a wait (this file is also type-checked for the browser).
        ;(t as { unref?: () => void }).unref?.()
        cancel = () => clearTimeout(t)
      })])
      if (!s) return undefined
      const size = s.blocks * s.bsize
      if (size <= 0) return undefined
      const used = (s.blocks - s.bfree) * s.bsize
      const avail = s.bavail * s.bsize
      return { mount: name(mount), fs: name(device), type: name(type), size_bytes: bytes(size), used_bytes: bytes(used), percent: used + avail > 0 ? percent((used / (used + avail)) * 100) : 0 }
    }
    catch {
      // Unreadable (permissions, a mount gone): left out rather than failing the sample.
      return undefined
    }
    finally {
      cancel()
      // A late rejection of a call this sample stopped waiting for must not go unhandled.
      call.catch(() => {})
    }
  }
}

type FilesystemReader = ReturnType<typeof createFilesystemReader>

/** The local filesystems (largest first, at most 8) and the one holding `diskPath`. */
async function linuxFilesystems(diskPath: string, statFilesystem: FilesystemReader, mountsText: () => Promise<string | undefined>): Promise<{ disks: Filesystem[], disk: HostDetail['disk'] | null }> {
  const mounts = parseMounts(await mountsText() ?? '')
  const disks = (await Promise.all(localMounts(mounts).map(m => statFilesystem(m.mount, m.device, m.type)))).filter((f): f is Filesystem => f !== undefined)
  disks.sort((a, b) => b.size_bytes - a.size_bytes)
  // diskPath may live on a filesystem left out above (the overlay root of a container): read that one too.
  const holder = pickFilesystem(mounts, diskPath)
  const disk = holder ? disks.find(d => d.mount === holder.mount) ?? await statFilesystem(holder.mount, holder.device, holder.type) : undefined
  return { disks: disks.slice(0, DETAIL_LIMITS.filesystems), disk: disk ? summary(disk) : null }
}

/** Temperatures in °C from /sys/class/hwmon, labelled `<chip> <sensor label>`. */
async function linuxTemperatures(): Promise<NonNullable<HostDetail['temperatures']>> {
  const out: NonNullable<HostDetail['temperatures']> = []
  for (const hw of (await listDir('/sys/class/hwmon')).sort()) {
    const dir = `/sys/class/hwmon/${hw}`
    const chip = (await readText(`${dir}/name`))?.trim() ?? hw
    for (const file of (await listDir(dir)).filter(f => /^temp\d+_input$/.test(f)).sort()) {
      const milli = Number((await readText(`${dir}/${file}`))?.trim())
      if (!Number.isFinite(milli)) continue
      const label = (await readText(`${dir}/${file.replace('_input', '_label')}`))?.trim() ?? file.replace('_input', '')
      out.push({ label: name(`${chip} ${label}`), celsius: clamp(round(milli / 1000), -273.15, 1000) })
      if (out.length >= DETAIL_LIMITS.temperatures) return out
    }
  }
  return out
}

/** Linux: everything from /proc and /sys (no child processes); rates against the previous call. */
function createLinuxSampler(diskPath: string, opts: SamplerOptions): HostSampler {
  const statFilesystem = createFilesystemReader(opts.statfs)
  const mountsText = opts.mounts ?? (async () => readKernelText('/proc/self/mounts'))
  let prevCpu: { all: CpuTimes, cores: CpuTimes[] } | undefined
  let prevIo: { at: number, read: number, written: number } | undefined
  let prevNet = new Map<string, { at: number, rx: number, tx: number }>()
  // The baseline, so the first sample's cpu is over the time since creation, not since boot.
  const baseline = readKernelText('/proc/stat')
  prevCpu = baseline ? parseProcStat(baseline) : undefined

  const physical = (dir: string): string[] => listKernelDir(dir).filter(n => existsSync(`${dir}/${n}/device`))

  function network(at: number): NonNullable<HostDetail['network']> {
    const ifaces = physical('/sys/class/net').sort().slice(0, DETAIL_LIMITS.interfaces)
    const next = new Map<string, { at: number, rx: number, tx: number }>()
    const out = ifaces.map((iface) => {
      const rx = Number(readKernelText(`/sys/class/net/${iface}/statistics/rx_bytes`))
      const tx = Number(readKernelText(`/sys/class/net/${iface}/statistics/tx_bytes`))
      if (!Number.isFinite(rx) || !Number.isFinite(tx)) return undefined
      next.set(iface, { at, rx, tx })
      const before = prevNet.get(iface)
      const secs = before ? (at - before.at) / 1000 : 0
      // A counter that went backwards (driver reset) gives no rate this time.
      const per = (now: number, then: number | undefined) => (then === undefined || secs <= 0 || now < then ? null : rate((now - then) / secs))
      return { iface: name(iface), rx_bytes_per_sec: per(rx, before?.rx), tx_bytes_per_sec: per(tx, before?.tx), rx_bytes: bytes(rx), tx_bytes: bytes(tx) }
    })
    prevNet = next
    return out.filter(n => n !== undefined)
  }

  function diskIo(at: number): HostDetail['disk_io'] {
    const disks = new Set(physical('/sys/block'))
    const now = parseDiskstats(readKernelText('/proc/diskstats') ?? '', disks)
    const before = prevIo
    prevIo = { at, ...now }
    const secs = before ? (at - before.at) / 1000 : 0
    if (!before || secs <= 0 || now.read < before.read || now.written < before.written) return null
    return { read_bytes_per_sec: rate((now.read - before.read) / secs), write_bytes_per_sec: rate((now.written - before.written) / secs) }
  }

  return {
    async sample() {
      // Rates are over monotonic time (a wall-clock step must not skew them); the timestamp is the wall clock's.
      const at = performance.now()
      const wall = new Date()
      const [stat, meminfo, fs, net, io, temperatures, proc, osI] = await Promise.all([
        readKernelText('/proc/stat'), readKernelText('/proc/meminfo'), linuxFilesystems(diskPath, statFilesystem, mountsText), network(at), diskIo(at),
        linuxTemperatures(), listKernelDir('/proc'), readOsInfo(),
      ])
      const cpu = stat ? parseProcStat(stat) : { all: { busy: 0, total: 0 }, cores: [] }
      const before = prevCpu
      prevCpu = cpu
      const mem = parseMeminfo(meminfo ?? '')
      const total = mem.MemTotal ?? os.totalmem()
      const available = mem.MemAvailable ?? ((mem.MemFree ?? 0) + (mem.Buffers ?? 0) + (mem.Cached ?? 0))
      const swapTotal = mem.SwapTotal ?? 0
      const [l1, l5, l15] = os.loadavg()
      return {
        cpu_percent: busyPercent(cpu.all, before?.all),
        // "available" excludes reclaimable cache: the figure operators mean by memory in use.
        memory_percent: total > 0 ? percent(((total - available) / total) * 100) : null,
        disk_percent: fs.disk?.percent ?? 0,
        uptime_seconds: clamp(Math.round(os.uptime()), 0, 3_155_760_000),
        active_backups: 0,
        timestamp: wall.toISOString(),
        detail: {
          load: { '1m': rate(l1 ?? 0), '5m': rate(l5 ?? 0), '15m': rate(l15 ?? 0) },
          cpu_cores: cpu.cores.slice(0, DETAIL_LIMITS.cores).map((c, i) => busyPercent(c, before?.cores[i])),
          memory: {
            total_bytes: bytes(total), used_bytes: bytes(total - available), available_bytes: bytes(available),
            swap_total_bytes: bytes(swapTotal), swap_used_bytes: bytes(swapTotal - (mem.SwapFree ?? 0)),
          },
          disk: fs.disk,
          disks: fs.disks,
          disk_io: io,
          network: net,
          ...(temperatures.length ? { temperatures } : {}),
          processes: clamp(proc.filter(n => /^\d+$/.test(n)).length, 0, 10_000_000),
          os: osDetail(osI),
        },
      }
    },
  }
}

/** Other systems: systeminformation (it may start child processes there). */
function createPortableSampler(diskPath: string): HostSampler {
  let prevIo: { at: number, read: number, written: number } | undefined
  return {
    async sample() {
      const si = (await import('systeminformation')).default
      const at = performance.now()
      const wall = new Date()
      const [load, mem, fsList, net, io, temps, procs, osI] = await Promise.all([
        si.currentLoad(), si.mem(), si.fsSize(), si.networkStats('*'), si.fsStats().catch(() => null),
        si.cpuTemperature().catch(() => null), si.processes().catch(() => null), readOsInfo(),
      ])
      const disks = fsList.filter(f => f.size > 0).sort((a, b) => b.size - a.size)
        .map(f => ({ mount: name(f.mount), fs: name(f.fs), type: name(f.type), size_bytes: bytes(f.size), used_bytes: bytes(f.used), percent: percent(f.use) }))
      const holder = pickFilesystem(disks, diskPath)
      const before = prevIo
      prevIo = io ? { at, read: io.rx, written: io.wx } : undefined
      const secs = before ? (at - before.at) / 1000 : 0
      const [l1, l5, l15] = os.loadavg()
      const temperatures = [
        ...(temps?.main != null ? [{ label: 'cpu', celsius: temps.main }] : []),
        ...(temps?.cores ?? []).map((c, i) => ({ label: `core ${i}`, celsius: c })),
      ].filter(t => Number.isFinite(t.celsius)).slice(0, DETAIL_LIMITS.temperatures).map(t => ({ label: t.label, celsius: clamp(round(t.celsius), -273.15, 1000) }))
      return {
        cpu_percent: percent(load.currentLoad),
        memory_percent: mem.total ? percent(((mem.total - mem.available) / mem.total) * 100) : null,
        disk_percent: holder?.percent ?? 0,
        uptime_seconds: clamp(Math.round(os.uptime()), 0, 3_155_760_000),
        active_backups: 0,
        timestamp: wall.toISOString(),
        detail: {
          load: { '1m': rate(l1 ?? 0), '5m': rate(l5 ?? 0), '15m': rate(l15 ?? 0) },
          cpu_cores: load.cpus.slice(0, DETAIL_LIMITS.cores).map(c => percent(c.load)),
          memory: {
            total_bytes: bytes(mem.total), used_bytes: bytes(mem.total - mem.available), available_bytes: bytes(mem.available),
            swap_total_bytes: bytes(mem.swaptotal), swap_used_bytes: bytes(mem.swapused),
          },
          disk: holder ? summary(holder) : null,
          disks: disks.slice(0, DETAIL_LIMITS.filesystems),
          disk_io: before && io && secs > 0 && io.rx >= before.read && io.wx >= before.written
            ? { read_bytes_per_sec: rate((io.rx - before.read) / secs), write_bytes_per_sec: rate((io.wx - before.written) / secs) }
            : null,
          network: net.slice(0, DETAIL_LIMITS.interfaces).map(n => ({
            iface: name(n.iface), rx_bytes_per_sec: n.rx_sec == null ? null : rate(n.rx_sec), tx_bytes_per_sec: n.tx_sec == null ? null : rate(n.tx_sec),
            rx_bytes: bytes(n.rx_bytes), tx_bytes: bytes(n.tx_bytes),
          })),
          ...(temperatures.length ? { temperatures } : {}),
          ...(procs ? { processes: clamp(procs.all, 0, 10_000_000) } : {}),
          os: osDetail(osI),
        },
      }
    },
  }
}

export interface SamplerOptions {
  /** Picks the filesystem of the summary's disk_percent (default `/`). */
  diskPath?: string
  /** Tests only (Linux): stand-ins for statfs and for reading /proc/self/mounts. */
  statfs?: StatfsFn
  mounts?: () => Promise<string | undefined>
}

/** A sampler of this host. */
export function createHostSampler(opts: SamplerOptions = {}): HostSampler {
  const diskPath = opts.diskPath ?? '/'
  return os.platform() === 'linux' ? createLinuxSampler(diskPath, opts) : createPortableSampler(diskPath)
}
