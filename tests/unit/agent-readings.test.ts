import { appendFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { bearerMatches, pageParams } from '../../cli/agent/listen'
import { openReadings } from '../../cli/agent/readings'

const dir = () => mkdtempSync(join(tmpdir(), 'np-readings-'))
const sample = (i: number) => ({ cpu_percent: i % 100, memory_percent: 1, disk_percent: 2, uptime_seconds: i, timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() })

describe('the readings --listen serves', () => {
  it('gives rising ids that survive a restart, and pages after a cursor', async () => {
    const d = dir()
    const a = await openReadings(d, 100)
    const first = [await a.add(sample(0)), await a.add(sample(1)), await a.add(sample(2))]
    await a.close()
    const b = await openReadings(d, 100)
    expect(b.count).toBe(3)
    expect(b.latest?.id).toBe(first[2]!.id)
    const next = await b.add(sample(3))
    expect(next.id).toBeGreaterThan(first[2]!.id)
    const page = await b.page(first[0]!.id, 2)
    expect(page.readings.map(r => r.uptime_seconds)).toEqual([1, 2])
    expect(page.more).toBe(true)
    expect((await b.page(page.readings.at(-1)!.id, 2))).toMatchObject({ readings: [{ uptime_seconds: 3 }], more: false })
    expect(next).toMatchObject({ cpu_percent: 3, memory_percent: 1, disk_percent: 2, active_backups: null, timestamp: sample(3).timestamp })
  })

  it('keeps between half the bound and the bound by renaming the current file, never rewriting it', async () => {
    const d = dir()
    const s = await openReadings(d, 10)
    for (let i = 0; i < 23; i++) await s.add(sample(i))
    expect(s.count).toBeLessThanOrEqual(10)
    expect(s.count).toBeGreaterThanOrEqual(5)
    const all = await s.page(0, 1000)
    expect(all.readings.map(r => r.uptime_seconds)).toEqual(Array.from({ length: s.count }, (_, i) => 23 - s.count + i))
    expect(readdirSync(d).sort()).toEqual(['readings.jsonl', 'readings.old.jsonl'])
  })

  it('ids keep rising when the clock steps back, and a torn last line is skipped', async () => {
    const d = dir()
    const s = await openReadings(d, 100)
    const a = await s.add(sample(1))
    await s.close()
    // A later id than now (the clock was ahead), then a crash tore a line.
    appendFileSync(join(d, 'readings.jsonl'), `${JSON.stringify({ ...a, id: a.id + 10 ** 12 })}\n{"id":99999999999999`)
    const t = await openReadings(d, 100)
    expect(t.count).toBe(3)
    const b = await t.add(sample(2))
    expect(b.id).toBe(a.id + 10 ** 12 + 1)
    expect((await t.page(0, 100)).readings.map(r => r.id)).toEqual([a.id, a.id + 10 ** 12, b.id])
    expect(readFileSync(join(d, 'readings.jsonl'), 'utf8').split('\n').at(-2)).toBe(JSON.stringify(b))
  })
})

describe('the member API\'s checks', () => {
  it('reads ?since= and ?limit= as seed 003 does', () => {
    expect(pageParams(new URLSearchParams(''))).toEqual({ since: undefined, limit: 500 })
    expect(pageParams(new URLSearchParams('since=1767225600000000&limit=1000'))).toEqual({ since: 1767225600000000, limit: 1000 })
    for (const bad of ['since=-1', 'since=01', 'since=x', 'since=12345678901234567', 'limit=0', 'limit=1001', 'limit=1.5']) {
      expect(() => pageParams(new URLSearchParams(bad)), bad).toThrow(/Invalid query parameter/)
    }
  })

  it('takes only the exact token after Bearer', async () => {
    expect(await bearerMatches('Bearer 0123456789abcdef', '0123456789abcdef')).toBe(true)
    expect(await bearerMatches('bearer 0123456789abcdef', '0123456789abcdef')).toBe(true)
    expect(await bearerMatches('Bearer 0123456789abcde', '0123456789abcdef')).toBe(false)
    expect(await bearerMatches('0123456789abcdef', '0123456789abcdef')).toBe(false)
    expect(await bearerMatches(undefined, '0123456789abcdef')).toBe(false)
    expect(await bearerMatches('Bearer ', '0123456789abcdef')).toBe(false)
  })
})
