import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { idParam, reportTimestamp } from '../../shared/contracts/common'
import { DETAIL_LIMITS, MAX_INGEST_BYTES, MAX_REPORT_BYTES, MAX_SAMPLES_PER_REPORT, statsReport, statsSample, type HostDetail } from '../../shared/contracts/ingest'
import { createNodeBody, createTokenBody, createUserBody, hostnameSchema, labelsSchema, loginBody, passwordSchema, updateNodeBody, usernameSchema } from '../../shared/contracts/rest'

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0)

/** The issues of a failed parse as "path: message" strings. */
function issues(result: { success: boolean, error?: { issues: { path: PropertyKey[], message: string }[] } }): string[] {
  expect(result.success).toBe(false)
  return result.error!.issues.map(i => `${i.path.join('.')}: ${i.message}`)
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW)
})
afterEach(() => {
  vi.useRealTimers()
})

describe('reportTimestamp', () => {
  const at = (v: unknown) => reportTimestamp.parse(v).toISOString()

  it('reads ISO-8601 with Z or an offset', () => {
    expect(at('2025-06-01T11:00:00Z')).toBe('2025-06-01T11:00:00.000Z')
    expect(at('2025-06-01T13:00:00.250+02:00')).toBe('2025-06-01T11:00:00.250Z')
  })

  it('reads unix seconds below 1e12 and milliseconds from 1e12', () => {
    expect(at(1_748_775_600)).toBe('2025-06-01T11:00:00.000Z')
    expect(at(1_748_775_600.5)).toBe('2025-06-01T11:00:00.500Z')
    expect(at(1_748_775_600_000)).toBe('2025-06-01T11:00:00.000Z')
    expect(at(1e12)).toBe('2001-09-09T01:46:40.000Z')
  })

  it('accepts up to 5 minutes ahead of the clock and refuses more', () => {
    expect(at(NOW + 5 * 60_000)).toBe(new Date(NOW + 5 * 60_000).toISOString())
    expect(issues(reportTimestamp.safeParse(NOW + 5 * 60_000 + 1))).toEqual([': is more than 5 minutes in the future'])
    expect(issues(reportTimestamp.safeParse(new Date(NOW + 600_000).toISOString()))).toEqual([': is more than 5 minutes in the future'])
  })

  it('refuses times before the year 2000', () => {
    expect(at(946_684_800)).toBe('2000-01-01T00:00:00.000Z')
    expect(issues(reportTimestamp.safeParse(946_684_799))).toEqual([': is before the year 2000'])
    expect(issues(reportTimestamp.safeParse('1999-12-31T23:59:59Z'))).toEqual([': is before the year 2000'])
  })

  it('refuses a date-time without a zone, a date alone, zero, negatives and non-finite numbers', () => {
    for (const bad of ['2025-06-01T11:00:00', '2025-06-01', 'yesterday', 0, -5, Number.NaN, Number.POSITIVE_INFINITY, null, true]) {
      expect(reportTimestamp.safeParse(bad).success, String(bad)).toBe(false)
    }
  })
})

describe('statsSample', () => {
  it('takes the required figures and leaves optional ones out', () => {
    expect(statsSample.parse({ cpu_percent: 0, disk_percent: 100 })).toEqual({ cpu_percent: 0, disk_percent: 100 })
  })

  it('takes every field', () => {
    const parsed = statsSample.parse({ cpu_percent: 12.5, memory_percent: null, disk_percent: 3, uptime_seconds: 0, active_backups: 4, timestamp: '2025-06-01T11:00:00Z' })
    expect(parsed).toEqual({ cpu_percent: 12.5, memory_percent: null, disk_percent: 3, uptime_seconds: 0, active_backups: 4, timestamp: new Date('2025-06-01T11:00:00Z') })
  })

  it.each([
    [{ cpu_percent: 100.01, disk_percent: 1 }, 'cpu_percent: must be at most 100'],
    [{ cpu_percent: -0.01, disk_percent: 1 }, 'cpu_percent: must be at least 0'],
    [{ cpu_percent: 1, disk_percent: 101 }, 'disk_percent: must be at most 100'],
    [{ cpu_percent: 1, disk_percent: 1, memory_percent: 120 }, 'memory_percent: must be at most 100'],
    [{ cpu_percent: '5', disk_percent: 1 }, 'cpu_percent: must be a number'],
    [{ cpu_percent: null, disk_percent: 1 }, 'cpu_percent: must be a number'],
    [{ cpu_percent: Number.NaN, disk_percent: 1 }, 'cpu_percent: must be a number'],
    [{ cpu_percent: 1 }, 'disk_percent: must be a number'],
    [{ cpu_percent: 1, disk_percent: 1, uptime_seconds: -1 }, 'uptime_seconds: must not be negative'],
    [{ cpu_percent: 1, disk_percent: 1, active_backups: -1 }, 'active_backups: must not be negative'],
    [{ cpu_percent: 1, disk_percent: 1, hostname: 'x', load: 1 }, ': unknown field(s): hostname, load'],
  ])('refuses %o with "%s"', (input, message) => {
    expect(issues(statsSample.safeParse(input))).toContain(message)
  })

  it('refuses a non-integer uptime or backup count', () => {
    expect(issues(statsSample.safeParse({ cpu_percent: 1, disk_percent: 1, uptime_seconds: 1.5 }))[0]).toMatch(/^uptime_seconds: /)
    expect(issues(statsSample.safeParse({ cpu_percent: 1, disk_percent: 1, active_backups: 0.5 }))[0]).toMatch(/^active_backups: /)
  })
})

/** A large host's detail: every field, each list at its limit. */
function fullDetail(): HostDetail {
  return {
    load: { '1m': 0.52, '5m': 1.5, '15m': 120 },
    cpu_cores: Array.from({ length: 64 }, (_, i) => i % 101),
    memory: { total_bytes: 2 ** 40, used_bytes: 2 ** 39, available_bytes: 2 ** 39, swap_total_bytes: 0, swap_used_bytes: 0 },
    disk: { mount: '/', fs: '/dev/nvme0n1p2', size_bytes: 2 ** 42, used_bytes: 2 ** 41, percent: 50 },
    disks: Array.from({ length: DETAIL_LIMITS.filesystems }, (_, i) => ({ mount: `/srv/data${i}`, fs: `/dev/sd${'abcdefgh'[i]}1`, type: 'ext4', size_bytes: 2 ** 44, used_bytes: 2 ** 40, percent: 6.3 })),
    disk_io: { read_bytes_per_sec: 1.5e9, write_bytes_per_sec: 0 },
    network: Array.from({ length: 4 }, (_, i) => ({ iface: `enp${i}s0`, rx_bytes_per_sec: i ? 1e6 : null, tx_bytes_per_sec: i ? 2e6 : null, rx_bytes: 2 ** 50, tx_bytes: 0 })),
    temperatures: [{ label: 'coretemp Package id 0', celsius: 48.5 }, { label: 'nvme Composite', celsius: -10 }],
    processes: 412,
    os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.1.0-18-amd64', arch: 'x64', hostname: 'db-1' },
  }
}

describe('statsSample detail', () => {
  it('takes a large host\'s full detail unchanged, and fits it in a report', () => {
    const detail = fullDetail()
    expect(statsSample.parse({ cpu_percent: 1, disk_percent: 2, detail }).detail).toEqual(detail)
    expect(JSON.stringify({ cpu_percent: 1, disk_percent: 2, timestamp: '2025-06-01T11:00:00Z', detail }).length).toBeLessThan(MAX_REPORT_BYTES / 8)
  })

  it('fits the documented 1,000-sample batch of a large host\'s full detail in one report', () => {
    const t0 = Date.parse('2025-06-01T00:00:00Z')
    const batch = JSON.stringify({ samples: Array.from({ length: MAX_SAMPLES_PER_REPORT }, (_, i) => ({ cpu_percent: 1, memory_percent: 2, disk_percent: 3, uptime_seconds: 1e6, active_backups: 0, timestamp: new Date(t0 + i * 1000).toISOString(), detail: fullDetail() })) })
    console.log(`1,000 samples of a large host's full detail: ${Buffer.byteLength(batch)} bytes (limit ${MAX_INGEST_BYTES})`)
    expect(Buffer.byteLength(batch)).toBeLessThan(MAX_INGEST_BYTES * 0.75)
    expect(statsReport.safeParse(JSON.parse(batch)).success).toBe(true)
  })

  it('takes an empty detail and null rates (a first sample has no rates yet)', () => {
    expect(statsSample.parse({ cpu_percent: 1, disk_percent: 2, detail: {} }).detail).toEqual({})
    expect(statsSample.parse({ cpu_percent: 1, disk_percent: 2, detail: { disk_io: null, network: [{ iface: 'eth0', rx_bytes_per_sec: null, tx_bytes_per_sec: null }] } })).toBeTruthy()
  })

  const withDetail = (patch: Record<string, unknown>) => ({ cpu_percent: 1, disk_percent: 2, detail: { ...fullDetail(), ...patch } })
  it.each([
    [{ gpu: 1 }, 'detail: unknown field(s): gpu'],
    [{ load: { '1m': 1, '5m': 1, '15m': 1, '30m': 1 } }, 'detail.load: unknown field(s): 30m'],
    [{ load: { '1m': -1, '5m': 1, '15m': 1 } }, 'detail.load.1m: must not be negative'],
    [{ cpu_cores: [101] }, 'detail.cpu_cores.0: must be at most 100'],
    [{ cpu_cores: Array.from({ length: DETAIL_LIMITS.cores + 1 }, () => 1) }, `detail.cpu_cores: must hold at most ${DETAIL_LIMITS.cores} cores`],
    [{ memory: { total_bytes: 1, used_bytes: -1, swap_total_bytes: 0, swap_used_bytes: 0 } }, 'detail.memory.used_bytes: must not be negative'],
    [{ memory: { total_bytes: 1.5, used_bytes: 1, swap_total_bytes: 0, swap_used_bytes: 0 } }, 'detail.memory.total_bytes: must be an integer'],
    [{ disks: Array.from({ length: DETAIL_LIMITS.filesystems + 1 }, () => ({ mount: '/', fs: 'x', size_bytes: 1, used_bytes: 1, percent: 1 })) }, `detail.disks: must hold at most ${DETAIL_LIMITS.filesystems} filesystems`],
    [{ disks: [{ mount: 'x'.repeat(DETAIL_LIMITS.name + 1), fs: 'x', size_bytes: 1, used_bytes: 1, percent: 1 }] }, `detail.disks.0.mount: must be at most ${DETAIL_LIMITS.name} characters`],
    [{ disk_io: { read_bytes_per_sec: 'fast', write_bytes_per_sec: 0 } }, 'detail.disk_io.read_bytes_per_sec: must be a number'],
    [{ network: [{ iface: 'eth0', rx_bytes_per_sec: -5, tx_bytes_per_sec: 0 }] }, 'detail.network.0.rx_bytes_per_sec: must not be negative'],
    [{ temperatures: [{ label: 'cpu', celsius: 5000 }] }, 'detail.temperatures.0.celsius: must be at most 1000'],
    [{ processes: 1.5 }, 'detail.processes: must be an integer'],
    [{ os: { platform: 'linux' } }, 'detail.os.arch: must be a string'],
    [{ os: 'linux' }, 'detail.os: must be an object'],
  ])('refuses detail %o with "%s"', (patch, message) => {
    expect(issues(statsSample.safeParse(withDetail(patch)))).toContain(message)
  })
})

describe('statsReport', () => {
  const s = (i: number) => ({ cpu_percent: i, disk_percent: i, timestamp: 1_748_775_600 + i })

  it('takes one bare sample', () => {
    expect(statsReport.parse({ cpu_percent: 1, disk_percent: 2 })).toEqual({ cpu_percent: 1, disk_percent: 2 })
  })

  it('takes a batch and parses its timestamps', () => {
    const parsed = statsReport.parse({ samples: [s(1), s(2)] })
    expect(parsed).toEqual({ samples: [
      { cpu_percent: 1, disk_percent: 1, timestamp: new Date((1_748_775_600 + 1) * 1000) },
      { cpu_percent: 2, disk_percent: 2, timestamp: new Date((1_748_775_600 + 2) * 1000) },
    ] })
  })

  it('takes a batch of one sample without a timestamp', () => {
    expect(statsReport.parse({ samples: [{ cpu_percent: 1, disk_percent: 1 }] })).toEqual({ samples: [{ cpu_percent: 1, disk_percent: 1 }] })
  })

  it('requires a timestamp on every sample of a batch of two or more', () => {
    const result = statsReport.safeParse({ samples: [s(1), { cpu_percent: 1, disk_percent: 1 }, s(3), { cpu_percent: 1, disk_percent: 1 }] })
    expect(issues(result)).toEqual([
      'samples.1.timestamp: is required when a report holds more than one sample',
      'samples.3.timestamp: is required when a report holds more than one sample',
    ])
  })

  it(`takes ${MAX_SAMPLES_PER_REPORT} samples and refuses one more`, () => {
    const samples = Array.from({ length: MAX_SAMPLES_PER_REPORT + 1 }, (_, i) => s(i % 50))
    expect(statsReport.safeParse({ samples: samples.slice(0, MAX_SAMPLES_PER_REPORT) }).success).toBe(true)
    expect(statsReport.safeParse({ samples }).success).toBe(false)
  })

  it('refuses an empty batch, naming samples', () => {
    expect(issues(statsReport.safeParse({ samples: [] }))).toEqual(['samples: must hold at least one sample'])
  })

  it('names the bad field of a bad sample inside a batch', () => {
    expect(issues(statsReport.safeParse({ samples: [s(1), { ...s(2), cpu_percent: 101 }] }))).toEqual(['samples.1.cpu_percent: must be at most 100'])
  })

  it('names the bad field of a bare sample that is out of range', () => {
    expect(issues(statsReport.safeParse({ cpu_percent: 1, disk_percent: 101 }))).toEqual(['disk_percent: must be at most 100'])
  })

  it('refuses a batch with extra fields, arrays, strings and null', () => {
    for (const bad of [{ samples: [s(1)], node: 3 }, [s(1)], 'x', null, 42]) {
      expect(statsReport.safeParse(bad).success, JSON.stringify(bad)).toBe(false)
    }
  })
})

describe('node bodies', () => {
  it('trims hostnames and allows letters, digits, dot, dash, underscore and colon', () => {
    expect(hostnameSchema.parse('  web-1.example_org:8080  ')).toBe('web-1.example_org:8080')
    expect(hostnameSchema.parse('a'.repeat(253))).toHaveLength(253)
    for (const bad of ['', '   ', 'a'.repeat(254), 'two words', 'a/b', 'ünïcode', 'a\nb']) {
      expect(hostnameSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false)
    }
  })

  it('bounds labels: names, values and count', () => {
    expect(labelsSchema.parse({ 'k8s.io/zone': 'eu-1', env: '' })).toEqual({ 'k8s.io/zone': 'eu-1', env: '' })
    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`l${i}`, 'v']))
    expect(labelsSchema.safeParse(many(32)).success).toBe(true)
    expect(issues(labelsSchema.safeParse(many(33)))).toEqual([': at most 32 labels'])
    expect(labelsSchema.safeParse({ ['k'.repeat(63)]: 'v' }).success).toBe(true)
    expect(labelsSchema.safeParse({ ['k'.repeat(64)]: 'v' }).success).toBe(false)
    expect(labelsSchema.safeParse({ k: 'v'.repeat(255) }).success).toBe(true)
    expect(labelsSchema.safeParse({ k: 'v'.repeat(256) }).success).toBe(false)
    expect(labelsSchema.safeParse({ 'bad key': 'v' }).success).toBe(false)
    expect(labelsSchema.safeParse({ k: 1 }).success).toBe(false)
  })

  it('createNodeBody needs a hostname and refuses unknown fields', () => {
    expect(createNodeBody.parse({ hostname: 'a' })).toEqual({ hostname: 'a' })
    expect(createNodeBody.safeParse({}).success).toBe(false)
    expect(createNodeBody.safeParse({ hostname: 'a', kind: 'master' }).success).toBe(false)
  })

  it('updateNodeBody needs hostname, labels or maintenance', () => {
    expect(updateNodeBody.parse({ labels: {} })).toEqual({ labels: {} })
    expect(issues(updateNodeBody.safeParse({}))).toEqual([': give hostname, labels or maintenance to change'])
  })
})

describe('user and token bodies', () => {
  it('usernames: 1-64 of letters, digits, . @ - _', () => {
    expect(usernameSchema.parse(' ops@example.com ')).toBe('ops@example.com')
    expect(usernameSchema.safeParse('u'.repeat(65)).success).toBe(false)
    expect(usernameSchema.safeParse('a b').success).toBe(false)
  })

  it('passwords: 8-1024 characters', () => {
    expect(passwordSchema.safeParse('1234567').success).toBe(false)
    expect(passwordSchema.safeParse('12345678').success).toBe(true)
    expect(passwordSchema.safeParse('x'.repeat(1025)).success).toBe(false)
  })

  it('roles are admin or viewer', () => {
    expect(createUserBody.safeParse({ username: 'a', password: '12345678', role: 'viewer' }).success).toBe(true)
    expect(issues(createUserBody.safeParse({ username: 'a', password: '12345678', role: 'root' }))).toEqual(['role: must be "admin" or "viewer"'])
    expect(issues(createTokenBody.safeParse({ name: ' ', role: 'admin' }))).toEqual(['name: must not be empty'])
  })

  it('loginBody refuses unknown fields and empty values', () => {
    expect(loginBody.safeParse({ username: 'a', password: 'b' }).success).toBe(true)
    expect(loginBody.safeParse({ username: '', password: 'b' }).success).toBe(false)
    expect(loginBody.safeParse({ username: 'a', password: 'b', otp: '1' }).success).toBe(false)
  })
})

describe('idParam', () => {
  it('coerces a decimal path segment to a positive 32-bit integer', () => {
    expect(idParam.parse({ id: '42' })).toEqual({ id: 42 })
    expect(idParam.parse({ id: '2147483647' })).toEqual({ id: 2_147_483_647 })
  })

  it.each(['0', '-1', '1.5', 'abc', '', '2147483648'])('refuses %j', (id) => {
    expect(idParam.safeParse({ id }).success).toBe(false)
  })
})
