import { existsSync } from 'node:fs'
import { machine, platform } from 'node:os'
import { describe, expect, it, vi } from 'vitest'
import { DETAIL_LIMITS, statsSample } from '../../shared/contracts/ingest'
import { createFilesystemReader, createHostSampler, LOCAL_FS_TYPES, localMounts, parseDiskstats, parseMeminfo, parseMounts, parseProcStat, pickFilesystem } from '../../shared/sampler'

const fs = (...mounts: string[]) => mounts.map(mount => ({ mount, use: mounts.indexOf(mount) }))

describe('pickFilesystem', () => {
  const mounts = fs('/', '/data', '/data2', '/data/archive', '/boot/')

  it('picks the longest mount point that holds the path', () => {
    expect(pickFilesystem(mounts, '/data/archive/2025/x.tar')?.mount).toBe('/data/archive')
    expect(pickFilesystem(mounts, '/data/other')?.mount).toBe('/data')
    expect(pickFilesystem(mounts, '/var/lib')?.mount).toBe('/')
  })

  it('matches a mount point itself', () => {
    expect(pickFilesystem(mounts, '/data')?.mount).toBe('/data')
    expect(pickFilesystem(mounts, '/')?.mount).toBe('/')
  })

  it('does not take a name prefix for a path prefix (/data2 is not under /data)', () => {
    expect(pickFilesystem(mounts, '/data2/x')?.mount).toBe('/data2')
    expect(pickFilesystem(fs('/', '/data'), '/database')?.mount).toBe('/')
  })

  it('handles mount points written with a trailing slash', () => {
    expect(pickFilesystem(mounts, '/boot/efi')?.mount).toBe('/boot/')
  })

  it('returns undefined when nothing holds the path', () => {
    expect(pickFilesystem([], '/')).toBeUndefined()
    expect(pickFilesystem(fs('/data'), '/srv')).toBeUndefined()
  })

  it('keeps the whole entry', () => {
    const entries = [{ mount: '/', fs: 'overlay', size: 10 }, { mount: '/srv', fs: 'ext4', size: 20 }]
    expect(pickFilesystem(entries, '/srv/x')).toBe(entries[1])
  })
})

describe('the /proc parsers', () => {
  it('parseProcStat: busy excludes idle and iowait, guest time is not counted twice', () => {
    const { all, cores } = parseProcStat('cpu  100 0 50 800 50 0 0 0 30 0\ncpu0 60 0 20 400 20 0 0 0 30 0\ncpu1 40 0 30 400 30 0 0 0 0 0\nintr 1 2 3\n')
    expect(all).toEqual({ busy: 150, total: 1000 })
    expect(cores).toEqual([{ busy: 80, total: 500 }, { busy: 70, total: 500 }])
  })

  it('parseMeminfo: kB values in bytes, counts as they are', () => {
    const m = parseMeminfo('MemTotal:       1000 kB\nMemAvailable:    250 kB\nHugePages_Total:       4\n')
    expect(m).toEqual({ MemTotal: 1024_000, MemAvailable: 256_000, HugePages_Total: 4 })
  })

  it('parseMounts: unescapes spaces in mount points', () => {
    expect(parseMounts('/dev/sdb1 /mnt/my\\040disk ext4 rw 0 0\n')).toEqual([{ device: '/dev/sdb1', mount: '/mnt/my disk', type: 'ext4' }])
  })

  it('parseDiskstats: whole disks only, 512-byte sectors', () => {
    const text = ' 8 0 sda 10 0 100 0 20 0 200 0 0 0 0\n 8 1 sda1 10 0 100 0 20 0 200 0 0 0 0\n 7 0 loop0 1 0 999 0 1 0 999 0 0 0 0\n'
    expect(parseDiskstats(text, new Set(['sda']))).toEqual({ read: 100 * 512, written: 200 * 512 })
  })
})

describe('filesystems: local ones only, one statfs per mount at a time', () => {
  const MOUNTS = [
    '/dev/sda1 / ext4 rw 0 0',
    'proc /proc proc rw 0 0',
    'srv:/export /mnt/nfs nfs4 rw,hard 0 0',
    '//nas/share /mnt/smb cifs rw 0 0',
    'me@host:/ /mnt/ssh fuse.sshfs rw 0 0',
    '/dev/sdb1 /data xfs rw 0 0',
    '/dev/sdb1 /bind xfs rw 0 0',
    '/dev/sdc1 /usb vfat rw 0 0',
    'tmpfs /dev/shm tmpfs rw 0 0',
  ].join('\n')
  const stat = { blocks: 1000, bfree: 400, bavail: 300, bsize: 4096 }

  it('keeps local filesystem types only (no network, no pseudo), each device once', () => {
    expect(localMounts(parseMounts(MOUNTS)).map(m => m.mount)).toEqual(['/', '/data', '/usb'])
    for (const t of ['ext4', 'xfs', 'btrfs', 'zfs', 'vfat', 'ntfs3', 'fuseblk']) expect(LOCAL_FS_TYPES.has(t)).toBe(true)
    for (const t of ['nfs', 'nfs4', 'cifs', 'smb3', 'fuse.sshfs', 'ceph', 'glusterfs', 'tmpfs', 'overlay']) expect(LOCAL_FS_TYPES.has(t)).toBe(false)
  })

  it('never starts a statfs on a mount whose previous one is still pending, and does not wait for it', async () => {
    const calls: string[] = []
    let release: (() => void) | undefined
    const read = createFilesystemReader(async (path) => {
      calls.push(path)
      if (path === '/hung' && !release) await new Promise<void>(r => (release = r))
      return stat
    }, 20)
    expect(await read('/hung', 'srv:/x', 'ext4')).toBeUndefined()
    expect(await read('/hung', 'srv:/x', 'ext4')).toBeUndefined()
    expect(await read('/', '/dev/sda1', 'ext4')).toMatchObject({ mount: '/', size_bytes: 4_096_000 })
    expect(calls).toEqual(['/hung', '/'])
    release!()
    await new Promise(r => setTimeout(r, 0))
    expect(await read('/hung', 'srv:/x', 'ext4')).toMatchObject({ mount: '/hung' })
    expect(calls).toEqual(['/hung', '/', '/hung'])
  })

  it.runIf(platform() === 'linux')('the sampler runs statfs on local mounts only, and not again on a hung one', async () => {
    const calls: string[] = []
    const sampler = createHostSampler({
      mounts: async () => MOUNTS,
      statfs: async (path) => {
        calls.push(path)
        if (path === '/data') await new Promise(() => {})
        return stat
      },
    })
    const first = await sampler.sample()
    expect(calls.sort()).toEqual(['/', '/data', '/usb'])
    expect(first.detail.disks!.map(f => f.mount)).toEqual(['/', '/usb'])
    calls.length = 0
    await sampler.sample()
    expect(calls.sort()).toEqual(['/', '/usb'])
  }, 15_000)
})

describe.runIf(platform() === 'linux')('createHostSampler on this machine', () => {
  it('samples passing the agent contract, with rates after the second sample', async () => {
    const sampler = createHostSampler()
    const first = await sampler.sample()
    expect(statsSample.safeParse(first).error?.issues ?? []).toEqual([])
    expect(first.detail.disk_io).toBeNull()
    for (const n of first.detail.network ?? []) expect(n.rx_bytes_per_sec).toBeNull()

    await new Promise(r => setTimeout(r, 300))
    const second = await sampler.sample()
    expect(statsSample.safeParse(second).error?.issues ?? []).toEqual([])
    expect(new Date(second.timestamp).getTime()).toBeGreaterThan(new Date(first.timestamp).getTime())
    expect(second.detail.disk_io).toEqual({ read_bytes_per_sec: expect.any(Number), write_bytes_per_sec: expect.any(Number) })
    for (const n of second.detail.network ?? []) expect(n.rx_bytes_per_sec).toEqual(expect.any(Number))
  })

  it('reads the summary and the detail from the host', async () => {
    const s = await createHostSampler().sample()
    const d = s.detail
    expect(s.cpu_percent).toBeGreaterThanOrEqual(0)
    expect(s.memory_percent).toBeGreaterThan(0)
    expect(s.uptime_seconds).toBeGreaterThan(0)
    expect(d.cpu_cores?.length).toBeGreaterThan(0)
    expect(d.memory!.used_bytes).toBeLessThanOrEqual(d.memory!.total_bytes)
    expect(d.disk?.mount).toBe('/')
    expect(s.disk_percent).toBe(d.disk!.percent)
    expect(d.disks!.length).toBeGreaterThan(0)
    expect(d.disks!.length).toBeLessThanOrEqual(DETAIL_LIMITS.filesystems)
    // Largest first, no pseudo filesystems, each device once.
    expect(d.disks!.map(f => f.size_bytes)).toEqual([...d.disks!.map(f => f.size_bytes)].sort((a, b) => b - a))
    for (const f of d.disks!) expect(['proc', 'sysfs', 'tmpfs', 'devtmpfs', 'overlay', 'squashfs', 'cgroup', 'cgroup2']).not.toContain(f.type)
    expect(new Set(d.disks!.map(f => f.fs)).size).toBe(d.disks!.length)
    expect(d.processes).toBeGreaterThan(1)
    expect(d.load).toEqual({ '1m': expect.any(Number), '5m': expect.any(Number), '15m': expect.any(Number) })
    expect(d.os).toMatchObject({ platform: 'linux', arch: machine() })
    for (const n of d.network ?? []) expect(n.iface).not.toBe('lo')
  })

  it.runIf(existsSync('/dev/shm'))('reads the filesystem holding diskPath, even one left out of the list (tmpfs)', async () => {
    const s = await createHostSampler({ diskPath: '/dev/shm/x' }).sample()
    expect(s.detail.disk?.mount).toBe('/dev/shm')
    expect(s.detail.disks!.map(f => f.mount)).not.toContain('/dev/shm')
  })
})

describe.runIf(platform() === 'linux')('createHostSampler and the wall clock', () => {
  it('computes rates over monotonic time: a backward wall-clock step does not void them', async () => {
    const sampler = createHostSampler()
    await sampler.sample()
    await new Promise(r => setTimeout(r, 200))
    const realNow = Date.now.bind(Date)
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() - 3_600_000)
    try {
      const second = await sampler.sample()
      expect(second.detail.disk_io).toEqual({ read_bytes_per_sec: expect.any(Number), write_bytes_per_sec: expect.any(Number) })
    }
    finally {
      vi.restoreAllMocks()
    }
  })
})
