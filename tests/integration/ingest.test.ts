import { describe, expect, it } from 'vitest'
import { MAX_INGEST_BYTES, MAX_SAMPLES_PER_REPORT } from '../../shared/contracts/ingest'
import { api, asAdmin, createAgent, expectError, getNode, report, sample, type CreatedNode } from './helpers'

const iso = (ms: number) => new Date(ms).toISOString()

/** A node's state that a rejected report must leave unchanged. */
async function snapshot(id: number) {
  const { status, cpu_percent, memory_percent, disk_percent, uptime_seconds, active_backups, last_seen, last_sample_at } = await getNode(id)
  return { status, cpu_percent, memory_percent, disk_percent, uptime_seconds, active_backups, last_seen, last_sample_at }
}

/** A node that has reported once (so "unchanged" is checked against real figures). */
async function reportedAgent(): Promise<CreatedNode> {
  const agent = await createAgent()
  const res = await report(agent.id, agent.token, { json: sample(60, { cpu_percent: 11 }) })
  expect(res.status, res.text).toBe(200)
  return agent
}

describe('POST /api/v1/nodes/:id/stats: accepted reports', () => {
  it('stores a single sample, acknowledges it and turns the node online with its figures', async () => {
    const agent = await createAgent()
    const before = Date.now()
    const res = await report(agent.id, agent.token, { json: { cpu_percent: 12.5, memory_percent: 40, disk_percent: 70.25, uptime_seconds: 3600, active_backups: 2 } })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ node_id: agent.id, accepted: 1, stored: 1, duplicates: 0, last_seen: expect.any(String) })
    const lastSeen = Date.parse(res.body.last_seen)
    expect(lastSeen).toBeGreaterThanOrEqual(before - 1000)
    expect(lastSeen).toBeLessThanOrEqual(Date.now() + 1000)

    const node = await getNode(agent.id)
    expect(node).toMatchObject({
      status: 'online', cpu_percent: 12.5, memory_percent: 40, disk_percent: 70.25, uptime_seconds: 3600, active_backups: 2,
      last_seen: res.body.last_seen,
    })
    // Without a timestamp the sample is stamped with its receive time.
    expect(Math.abs(Date.parse(node.last_sample_at!) - lastSeen)).toBeLessThan(5000)
  })

  it('stores a sample\'s host detail: GET /api/v1/nodes/{id} shows the newest sample\'s, the list shows none', async () => {
    const agent = await createAgent()
    const detail = {
      load: { '1m': 1.25, '5m': 0.5, '15m': 0.25 },
      cpu_cores: [10, 20],
      memory: { total_bytes: 8 * 2 ** 30, used_bytes: 2 ** 30, available_bytes: 7 * 2 ** 30, swap_total_bytes: 0, swap_used_bytes: 0 },
      disks: [{ mount: '/', fs: '/dev/sda1', type: 'ext4', size_bytes: 2 ** 36, used_bytes: 2 ** 35, percent: 50 }],
      disk_io: { read_bytes_per_sec: 4096, write_bytes_per_sec: 8192 },
      network: [{ iface: 'eth0', rx_bytes_per_sec: 100, tx_bytes_per_sec: 200, rx_bytes: 1000, tx_bytes: 2000 }],
      temperatures: [{ label: 'coretemp Core 0', celsius: 45 }],
      processes: 99,
      os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.1.0', arch: 'x64', hostname: 'web-1' },
    }
    const older = { ...sample(30), detail: { processes: 1 } }
    const res = await report(agent.id, agent.token, { json: { samples: [{ ...sample(5), detail }, older] } })
    expect(res.status, res.text).toBe(200)
    const one = await api<{ detail: unknown }>('GET', `/api/v1/nodes/${agent.id}`, { auth: await asAdmin() })
    expect(one.body.detail).toEqual(detail)
    const list = await api<Record<string, unknown>[]>('GET', '/api/v1/nodes', { auth: await asAdmin() })
    expect(list.body.find(n => n.id === agent.id)).not.toHaveProperty('detail')

    // A later sample without detail (a plain seed report) clears it: the detail is the newest sample's.
    expect((await report(agent.id, agent.token, { json: sample(0) })).status).toBe(200)
    expect((await api<{ detail: unknown }>('GET', `/api/v1/nodes/${agent.id}`, { auth: await asAdmin() })).body.detail).toBeNull()
  })

  it('takes optional figures as null (memory and uptime stay null; a node that reported runs 0 backups)', async () => {
    const agent = await createAgent()
    const res = await report(agent.id, agent.token, { json: { cpu_percent: 0, disk_percent: 100, memory_percent: null, uptime_seconds: null } })
    expect(res.status, res.text).toBe(200)
    expect(await getNode(agent.id)).toMatchObject({ status: 'online', cpu_percent: 0, disk_percent: 100, memory_percent: null, uptime_seconds: null, active_backups: 0 })
  })

  it('stores a timestamped batch; the newest sample (not the last sent) becomes the node\'s figures', async () => {
    const agent = await createAgent()
    const t = Date.now() - 120_000
    const samples = [
      { cpu_percent: 1, disk_percent: 10, timestamp: iso(t) },
      { cpu_percent: 3, disk_percent: 30, timestamp: iso(t + 20_000) },
      { cpu_percent: 2, disk_percent: 20, timestamp: iso(t + 10_000) },
    ]
    const res = await report(agent.id, agent.token, { json: { samples } })
    expect(res.status, res.text).toBe(200)
    expect(res.body).toMatchObject({ node_id: agent.id, accepted: 3, stored: 3, duplicates: 0 })
    const node = await getNode(agent.id)
    expect(node).toMatchObject({ status: 'online', cpu_percent: 3, disk_percent: 30, last_sample_at: iso(t + 20_000) })
    // last_seen is when the server heard from the node, not the samples' time.
    expect(node.last_seen).toBe(res.body.last_seen)
  })

  it('stores nothing twice: re-sending a batch counts every sample as a duplicate', async () => {
    const agent = await createAgent()
    const t = Date.now() - 300_000
    const samples = [0, 1, 2, 3].map(i => ({ cpu_percent: 5 + i, disk_percent: 50, timestamp: iso(t + i * 1000) }))
    expect((await report(agent.id, agent.token, { json: { samples } })).body).toMatchObject({ accepted: 4, stored: 4, duplicates: 0 })
    expect((await report(agent.id, agent.token, { json: { samples } })).body).toMatchObject({ accepted: 4, stored: 0, duplicates: 4 })
    // Half old, half new: only the new ones are stored.
    const overlap = [...samples.slice(2), ...[4, 5].map(i => ({ cpu_percent: 5 + i, disk_percent: 50, timestamp: iso(t + i * 1000) }))]
    expect((await report(agent.id, agent.token, { json: { samples: overlap } })).body).toMatchObject({ accepted: 4, stored: 2, duplicates: 2 })
    expect(await getNode(agent.id)).toMatchObject({ cpu_percent: 10, last_sample_at: iso(t + 5000) })
  })

  it('counts a sample repeated inside one batch once', async () => {
    const agent = await createAgent()
    const ts = iso(Date.now() - 5000)
    const res = await report(agent.id, agent.token, { json: { samples: [{ cpu_percent: 1, disk_percent: 1, timestamp: ts }, { cpu_percent: 2, disk_percent: 2, timestamp: ts }] } })
    expect(res.status, res.text).toBe(200)
    expect(res.body).toMatchObject({ accepted: 2, stored: 1, duplicates: 1 })
  })

  it('accepts unix seconds, unix milliseconds and ISO timestamps as the same instant', async () => {
    const agent = await createAgent()
    const seconds = Math.floor(Date.now() / 1000) - 600
    const a = await report(agent.id, agent.token, { json: { cpu_percent: 1, disk_percent: 1, timestamp: seconds } })
    expect(a.status, a.text).toBe(200)
    expect(a.body.stored).toBe(1)
    expect((await getNode(agent.id)).last_sample_at).toBe(iso(seconds * 1000))
    const ms = await report(agent.id, agent.token, { json: { cpu_percent: 1, disk_percent: 1, timestamp: seconds * 1000 } })
    expect(ms.body).toMatchObject({ stored: 0, duplicates: 1 })
    const isoRes = await report(agent.id, agent.token, { json: { cpu_percent: 1, disk_percent: 1, timestamp: iso(seconds * 1000).replace('Z', '+00:00') } })
    expect(isoRes.body).toMatchObject({ stored: 0, duplicates: 1 })
    const later = await report(agent.id, agent.token, { json: { cpu_percent: 9, disk_percent: 9, timestamp: seconds + 1 } })
    expect(later.body).toMatchObject({ stored: 1, duplicates: 0 })
    expect(await getNode(agent.id)).toMatchObject({ cpu_percent: 9, last_sample_at: iso((seconds + 1) * 1000) })
  })

  it(`accepts exactly ${MAX_SAMPLES_PER_REPORT} samples`, async () => {
    const agent = await createAgent()
    const start = Math.floor(Date.now() / 1000) - 2 * MAX_SAMPLES_PER_REPORT
    const samples = Array.from({ length: MAX_SAMPLES_PER_REPORT }, (_, i) => ({ cpu_percent: 1, disk_percent: 1, timestamp: start + i }))
    const res = await report(agent.id, agent.token, { json: { samples } })
    expect(res.status, res.text).toBe(200)
    expect(res.body).toMatchObject({ accepted: MAX_SAMPLES_PER_REPORT, stored: MAX_SAMPLES_PER_REPORT, duplicates: 0 })
  })

  it('acknowledges and stores every one of many concurrent reports from several nodes', async () => {
    const agents = await Promise.all(Array.from({ length: 5 }, () => createAgent()))
    const base = Date.now() - 3_600_000
    const sends = () => agents.flatMap((agent, a) => Array.from({ length: 20 }, (_, i) =>
      report(agent.id, agent.token, { json: { cpu_percent: (a * 20 + i) % 100, disk_percent: 5, timestamp: iso(base + i * 1000) } })))
    const first = await Promise.all(sends())
    for (const res of first) {
      expect(res.status, res.text).toBe(200)
      expect(res.body).toMatchObject({ accepted: 1, stored: 1, duplicates: 0 })
    }
    expect(first.map(r => r.body.node_id).sort()).toEqual(agents.flatMap(a => Array(20).fill(a.id)).sort())
    // Every sample is in the database: sending them all again stores none.
    const again = await Promise.all(sends())
    for (const res of again) expect(res.body).toMatchObject({ accepted: 1, stored: 0, duplicates: 1 })
    for (const [a, agent] of agents.entries()) {
      expect(await getNode(agent.id)).toMatchObject({ status: 'online', cpu_percent: (a * 20 + 19) % 100, last_sample_at: iso(base + 19_000) })
    }
  })
})

describe('POST /api/v1/nodes/:id/stats: rejected reports store nothing', () => {
  const invalid: [string, unknown, string][] = [
    ['cpu_percent above 100', { cpu_percent: 101, disk_percent: 5 }, 'cpu_percent'],
    ['cpu_percent below 0', { cpu_percent: -1, disk_percent: 5 }, 'cpu_percent'],
    ['disk_percent above 100', { cpu_percent: 1, disk_percent: 100.5 }, 'disk_percent'],
    ['memory_percent below 0', { cpu_percent: 1, disk_percent: 1, memory_percent: -0.1 }, 'memory_percent'],
    ['a percent sent as a string', { cpu_percent: '50', disk_percent: 5 }, 'cpu_percent'],
    ['a percent sent as "NaN"', { cpu_percent: 'NaN', disk_percent: 5 }, 'cpu_percent'],
    ['a percent sent as null', { cpu_percent: null, disk_percent: 5 }, 'cpu_percent'],
    ['a missing disk_percent', { cpu_percent: 5 }, 'disk_percent'],
    ['a negative uptime', { cpu_percent: 5, disk_percent: 5, uptime_seconds: -1 }, 'uptime_seconds'],
    ['a non-integer uptime', { cpu_percent: 5, disk_percent: 5, uptime_seconds: 1.5 }, 'uptime_seconds'],
    ['a negative active_backups', { cpu_percent: 5, disk_percent: 5, active_backups: -2 }, 'active_backups'],
    ['a timestamp 10 minutes in the future', { cpu_percent: 5, disk_percent: 5, timestamp: iso(Date.now() + 600_000) }, 'timestamp'],
    ['a timestamp without a zone', { cpu_percent: 5, disk_percent: 5, timestamp: '2025-01-01T00:00:00' }, 'timestamp'],
    ['a timestamp before 2000', { cpu_percent: 5, disk_percent: 5, timestamp: 946_000_000 }, 'timestamp'],
    ['an unknown field', { cpu_percent: 5, disk_percent: 5, load: 3 }, 'load'],
    ['an unknown detail field', { cpu_percent: 5, disk_percent: 5, detail: { gpu_percent: 3 } }, 'gpu_percent'],
    ['a detail figure out of range', { cpu_percent: 5, disk_percent: 5, detail: { cpu_cores: [5, 101] } }, 'detail.cpu_cores.1'],
    ['too many filesystems in the detail', { cpu_percent: 5, disk_percent: 5, detail: { disks: Array.from({ length: 9 }, (_, i) => ({ mount: `/m${i}`, fs: 'x', size_bytes: 1, used_bytes: 0, percent: 0 })) } }, 'detail.disks'],
    ['an empty batch', { samples: [] }, 'samples'],
    ['a batch sample out of range', { samples: [sample(10), sample(5, { cpu_percent: 150 })] }, 'samples.1.cpu_percent'],
    ['a batch sample without a timestamp', { samples: [sample(10), { cpu_percent: 1, disk_percent: 1 }] }, 'samples.1.timestamp'],
    ['a non-object body', [1, 2, 3], 'must be an object'],
  ]

  it.each(invalid)('answers 422 naming the field for %s', async (_case, body, field) => {
    const agent = await reportedAgent()
    const before = await snapshot(agent.id)
    const res = await report(agent.id, agent.token, { json: body })
    expectError(res, 422, 'Invalid body', field)
    expect(await snapshot(agent.id)).toEqual(before)
  })

  it('answers 422 for a percent that JSON parses as Infinity (1e999), naming the field', async () => {
    const agent = await reportedAgent()
    const before = await snapshot(agent.id)
    expectError(await report(agent.id, agent.token, { raw: '{"cpu_percent": 1e999, "disk_percent": 5}' }), 422, 'cpu_percent')
    expect(await snapshot(agent.id)).toEqual(before)
  })

  it('answers 422 with the exact message for a NUL character in a detail name or key, before the contract is checked', async () => {
    const agent = await reportedAgent()
    const before = await snapshot(agent.id)
    const disk = { mount: 'a\u0000b', fs: 'x', size_bytes: 1, used_bytes: 0, percent: 0 }
    const cases: [unknown, string][] = [
      [{ samples: [sample(10), { ...sample(5), detail: { disks: [disk] } }] }, 'Invalid body: samples.1.detail.disks.0.mount: must not contain NUL (\\u0000) characters'],
      [{ cpu_percent: 1, disk_percent: 1, detail: { os: { platform: 'linux', arch: 'x64', 'k\u0000': 1 } } }, 'Invalid body: detail.os: must not contain NUL (\\u0000) characters in its keys'],
    ]
    for (const [json, message] of cases) {
      expect(expectError(await report(agent.id, agent.token, { json }), 422).message).toBe(message)
    }
    expect(await snapshot(agent.id)).toEqual(before)
  })

  it(`answers 422 for more than ${MAX_SAMPLES_PER_REPORT} samples, saying how many are allowed`, async () => {
    const agent = await reportedAgent()
    const before = await snapshot(agent.id)
    const start = Math.floor(Date.now() / 1000) - 5000
    const samples = Array.from({ length: MAX_SAMPLES_PER_REPORT + 1 }, (_, i) => ({ cpu_percent: 1, disk_percent: 1, timestamp: start + i }))
    const res = await report(agent.id, agent.token, { json: { samples } })
    expectError(res, 422, 'samples', String(MAX_SAMPLES_PER_REPORT))
    expect(await snapshot(agent.id)).toEqual(before)
  })

  it('answers 422 for a batch with one bad sample and stores none of its good ones', async () => {
    const agent = await reportedAgent()
    const good = [sample(30, { cpu_percent: 1 }), sample(20, { cpu_percent: 2 })]
    expectError(await report(agent.id, agent.token, { json: { samples: [...good, sample(10, { disk_percent: 101 })] } }), 422, 'samples.2.disk_percent')
    expect((await report(agent.id, agent.token, { json: { samples: good } })).body).toMatchObject({ stored: 2, duplicates: 0 })
  })

  it(`answers 413 for a body over ${MAX_INGEST_BYTES} bytes and stores nothing`, async () => {
    const agent = await reportedAgent()
    const before = await snapshot(agent.id)
    // Otherwise valid (fewer than 1000 samples, names within their limit), only too large.
    const start = Date.now() - 3_000_000
    const disks = Array.from({ length: 8 }, (_, i) => ({ mount: `/${'m'.repeat(250)}${i}`, fs: `/dev/${'d'.repeat(250)}`, size_bytes: 2 ** 40, used_bytes: 2 ** 39, percent: 50 }))
    const samples = Array.from({ length: 999 }, (_, i) => ({ cpu_percent: 12.3456789012345, memory_percent: 45.6789012345678, disk_percent: 78.9012345678901, uptime_seconds: 123456789, active_backups: 0, timestamp: iso(start + i * 1000), detail: { disks } }))
    const raw = JSON.stringify({ samples })
    expect(raw.length).toBeGreaterThan(MAX_INGEST_BYTES)
    expectError(await report(agent.id, agent.token, { raw }), 413, String(MAX_INGEST_BYTES))
    expect(await snapshot(agent.id)).toEqual(before)
    // None of them was stored: a size-limited resend stores them.
    expect((await report(agent.id, agent.token, { json: { samples: samples.slice(0, 300) } })).body).toMatchObject({ stored: 300, duplicates: 0 })
  })

  it('answers 413 for an oversized body sent without Content-Length (chunked)', async () => {
    const agent = await reportedAgent()
    const before = await snapshot(agent.id)
    const chunk = new TextEncoder().encode(`{"cpu_percent": 1, "disk_percent": 1, "pad": "${'x'.repeat(MAX_INGEST_BYTES)}"}`)
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(chunk)
        controller.close()
      },
    })
    expectError(await report(agent.id, agent.token, { raw: stream }), 413)
    expect(await snapshot(agent.id)).toEqual(before)
  })

  it('answers 400 for malformed JSON and for an empty body', async () => {
    const agent = await reportedAgent()
    const before = await snapshot(agent.id)
    expectError(await report(agent.id, agent.token, { raw: '{"cpu_percent": 5, "disk_percent": ' }), 400, 'Malformed JSON')
    expectError(await report(agent.id, agent.token, { raw: '' }), 400, 'empty')
    expect(await snapshot(agent.id)).toEqual(before)
  })
})

describe('POST /api/v1/nodes/:id/stats: agent authentication', () => {
  it('answers 401 without a token', async () => {
    const agent = await reportedAgent()
    const before = await snapshot(agent.id)
    expectError(await report(agent.id, undefined, { json: sample(0) }), 401, 'Authorization: Bearer')
    expect(await snapshot(agent.id)).toEqual(before)
  })

  it('answers 401 for a bad token or a user\'s API token', async () => {
    const agent = await reportedAgent()
    const before = await snapshot(agent.id)
    expectError(await report(agent.id, 'npa_not-a-real-token', { json: sample(0) }), 401, 'Invalid agent token')
    expectError(await report(agent.id, `${agent.token}x`, { json: sample(0) }), 401, 'Invalid agent token')
    const admin = await api<{ token: string }>('POST', '/api/v1/tokens', { auth: await asAdmin(), json: { name: 'not-an-agent', role: 'admin' } })
    expectError(await report(agent.id, admin.body.token, { json: sample(0) }), 401, 'Invalid agent token')
    expectError(await api('POST', `/api/v1/nodes/${agent.id}/stats`, { json: sample(0), headers: { authorization: `Basic ${agent.token}` } }), 401)
    expect(await snapshot(agent.id)).toEqual(before)
  })

  it('answers 403 for another node\'s token, and the other node is untouched too', async () => {
    const agent = await reportedAgent()
    const other = await reportedAgent()
    const [before, otherBefore] = [await snapshot(agent.id), await snapshot(other.id)]
    expectError(await report(agent.id, other.token, { json: sample(0) }), 403, `node ${agent.id}`)
    expect(await snapshot(agent.id)).toEqual(before)
    expect(await snapshot(other.id)).toEqual(otherBefore)
  })

  it('answers 403 for an agent reporting as the master', async () => {
    const agent = await createAgent()
    const nodes = await api<{ id: number, is_master: boolean }[]>('GET', '/api/v1/nodes', { auth: await asAdmin() })
    const master = nodes.body.find(n => n.is_master)!
    expectError(await report(master.id, agent.token, { json: sample(0) }), 403)
  })

  it('answers 404 for an unknown node (with a valid agent token) and 400 for a bad id', async () => {
    const agent = await createAgent()
    expectError(await report(987654, agent.token, { json: sample(0) }), 404, 'Node 987654 not found')
    expectError(await report(0, agent.token, { json: sample(0) }), 400, 'id')
  })

  it('checks the token before reading the body', async () => {
    const agent = await createAgent()
    expectError(await report(agent.id, 'npa_wrong', { raw: '{not json' }), 401)
  })
})
