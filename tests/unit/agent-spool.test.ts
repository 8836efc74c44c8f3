import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { platform, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { lockSpool, openSpool, SEGMENT_MAX_BYTES, SpoolLockedError, writeAtomic, type Spool } from '../../cli/agent/spool'
import type { Log } from '../../cli/agent/log'
import { MAX_REPORT_BYTES, MAX_SAMPLES_PER_REPORT } from '../../shared/contracts/ingest'

const logged: string[] = []
const log: Log = { info: m => logged.push(m), warn: m => logged.push(m) }
const open: Spool[] = []
const dir = () => mkdtempSync(join(tmpdir(), 'np-spool-'))
const spoolAt = async (d: string, max = 1000) => {
  const s = await openSpool(d, max, log)
  open.push(s)
  return s
}
const sample = (i: number, pad = 0) => JSON.stringify({ cpu_percent: i % 100, disk_percent: 1, timestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(), ...(pad ? { pad: 'x'.repeat(pad) } : {}) })
const timestampsOf = (body: string) => (JSON.parse(body) as { samples: { timestamp: string }[] }).samples.map(s => s.timestamp)

async function drainAll(s: Spool): Promise<string[]> {
  const out: string[] = []
  for (let b = await s.oldest(); b; b = await s.oldest()) {
    out.push(...timestampsOf(b.body))
    await s.remove(b)
  }
  return out
}

// Processes whose command line names nodepulse, as a running agent's does; killed after the file.
const standIns: ChildProcess[] = []
const agentStandIn = (): ChildProcess & { pid: number } => {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', 'nodepulse-agent-stand-in'], { stdio: 'ignore' })
  standIns.push(child)
  return child as ChildProcess & { pid: number }
}
afterAll(() => {
  for (const c of standIns) c.kill()
})

afterEach(async () => {
  await Promise.all(open.splice(0).map(s => s.close()))
  logged.length = 0
})

describe('writeAtomic', () => {
  it('replaces the file whole and leaves no temporary file', async () => {
    const d = dir()
    const path = join(d, 'f.json')
    await writeAtomic(path, 'old')
    await writeAtomic(path, 'new content')
    expect(readFileSync(path, 'utf8')).toBe('new content')
    expect(readdirSync(d)).toEqual(['f.json'])
  })
})

describe('the spool', () => {
  it('keeps samples across a restart and gives them back oldest first', async () => {
    const d = dir()
    const a = await spoolAt(d)
    for (let i = 0; i < 5; i++) await a.add(sample(i))
    await a.close()
    const b = await spoolAt(d)
    expect(b.count).toBe(5)
    for (let i = 5; i < 8; i++) await b.add(sample(i))
    expect(b.count).toBe(8)
    expect(await drainAll(b)).toEqual(Array.from({ length: 8 }, (_, i) => JSON.parse(sample(i)).timestamp))
    expect(b.count).toBe(0)
  })

  it('packs each segment as a sendable batch: at most 1,000 samples and a body within MAX_REPORT_BYTES', async () => {
    const d = dir()
    const s = await spoolAt(d, 100_000)
    for (let i = 0; i < 1500; i++) await s.add(sample(i))
    for (let i = 0; i < 200; i++) await s.add(sample(i + 2000, 1500))
    const files = readdirSync(d).filter(f => /^\d{13}\.jsonl$/.test(f))
    for (const f of files) {
      const text = readFileSync(join(d, f), 'utf8')
      expect(text.length).toBeLessThanOrEqual(SEGMENT_MAX_BYTES)
      expect(text.split('\n').length - 1).toBeLessThanOrEqual(MAX_SAMPLES_PER_REPORT)
    }
    // Full batches, not one file per sample.
    expect(files.length).toBeLessThanOrEqual(2 + Math.ceil((200 * 1560) / SEGMENT_MAX_BYTES) + 1)
    expect(s.count).toBe(1700)
    for (let b = await s.oldest(); b; b = await s.oldest()) {
      expect(Buffer.byteLength(b.body)).toBeLessThanOrEqual(MAX_REPORT_BYTES)
      expect(timestampsOf(b.body).length).toBeLessThanOrEqual(MAX_SAMPLES_PER_REPORT)
      await s.remove(b)
    }
  })

  it('appends: one sample per line, the segment file grows in place and is never rewritten', async () => {
    const d = dir()
    const s = await spoolAt(d)
    await s.add(sample(1))
    const name = readdirSync(d).find(f => f.endsWith('.jsonl'))!
    expect(name).toBe('0000000000001.jsonl')
    const ino = statSync(join(d, name)).ino
    for (let i = 2; i <= 50; i++) await s.add(sample(i))
    expect(statSync(join(d, name)).ino).toBe(ino)
    expect(readFileSync(join(d, name), 'utf8')).toBe(Array.from({ length: 50 }, (_, i) => `${sample(i + 1)}\n`).join(''))
  })

  it('appends to the newest segment after a restart, but never after a torn last line', async () => {
    const d = dir()
    const a = await spoolAt(d)
    await a.add(sample(1))
    await a.close()
    const b = await spoolAt(d)
    await b.add(sample(2))
    await b.close()
    expect(readdirSync(d).filter(f => f.endsWith('.jsonl'))).toEqual(['0000000000001.jsonl'])
    // A crash cut the last line short: the next sample goes to a new segment, not onto the torn line.
    writeFileSync(join(d, '0000000000001.jsonl'), `${sample(1)}\n${sample(2)}\n${sample(3).slice(0, 25)}`)
    const c = await spoolAt(d)
    await c.add(sample(4))
    expect(readdirSync(d).filter(f => f.endsWith('.jsonl')).sort()).toEqual(['0000000000001.jsonl', '0000000000002.jsonl'])
    expect(await drainAll(c)).toEqual([1, 2, 4].map(i => JSON.parse(sample(i)).timestamp))
    expect(readFileSync(join(d, '0000000000001.corrupt'), 'utf8')).toBe(`${sample(3).slice(0, 25)}\n`)
    expect(logged.join('\n')).toContain('spool file 0000000000001.jsonl was damaged: 1 line(s) moved aside as 0000000000001.corrupt, the rest kept')
  })

  it('reads the shell agent\'s segments (numeric timestamps) and rewrites the earlier Node format (one batch per .json file) as segments', async () => {
    const d = dir()
    writeFileSync(join(d, '0000000000003.jsonl'), '{"cpu_percent":1,"memory_percent":2,"disk_percent":3,"timestamp":1735689600000}\n')
    writeFileSync(join(d, '000000000001.json'), `{"samples":[${sample(5)},${sample(6)}]}`)
    writeFileSync(join(d, 'dropped.json'), '{"dropped":4}')
    const s = await spoolAt(d)
    expect(s.count).toBe(3)
    expect(s.dropped).toBe(4)
    expect(readdirSync(d).sort()).toEqual(['0000000000003.jsonl', '0000000000004.jsonl', 'agent.lock', 'dropped'])
    const first = (await s.oldest())!
    expect(JSON.parse(first.body)).toEqual({ samples: [{ cpu_percent: 1, memory_percent: 2, disk_percent: 3, timestamp: 1735689600000 }] })
    await s.remove(first)
    expect(await drainAll(s)).toEqual([5, 6].map(i => JSON.parse(sample(i)).timestamp))
  })

  it('past the bound drops sealed segments whole, without rewriting the rest: a full spool costs appends only', async () => {
    const d = dir()
    // A bound where one segment is under a tenth of it, as the default (24 h of samples) is.
    const s = await spoolAt(d, 10_000)
    for (let i = 0; i < 10_000; i++) await s.add(sample(i))
    const before = new Map(readdirSync(d).filter(f => f.endsWith('.jsonl')).map(f => [f, statSync(join(d, f)).ino]))
    const oldest = [...before.keys()].sort()[0]!
    const inOldest = readFileSync(join(d, oldest), 'utf8').split('\n').length - 1
    await s.add(sample(10_000))
    // The whole oldest segment went, counted; every other file is the same file (no rewrite).
    expect(existsSync(join(d, oldest))).toBe(false)
    expect(s.dropped).toBe(inOldest)
    expect(s.count).toBe(10_001 - inOldest)
    for (const [f, ino] of before) if (f !== oldest) expect(statSync(join(d, f)).ino).toBe(ino)
    // Further samples append until the bound is reached again.
    for (let i = 10_001; i < 10_001 + inOldest - 1; i++) await s.add(sample(i))
    expect(s.dropped).toBe(inOldest)
    const all = await drainAll(s)
    expect(all[0]).toBe(JSON.parse(sample(inOldest)).timestamp)
    expect(all.at(-1)).toBe(JSON.parse(sample(10_000 + inOldest - 1)).timestamp)
  })

  it('drops the oldest past the bound, counts them, and keeps the count across a restart', async () => {
    const d = dir()
    const a = await spoolAt(d, 5)
    for (let i = 0; i < 12; i++) await a.add(sample(i))
    expect(a.count).toBe(5)
    expect(a.dropped).toBe(7)
    await a.close()
    const b = await spoolAt(d, 5)
    expect(b.dropped).toBe(7)
    expect(await drainAll(b)).toEqual([7, 8, 9, 10, 11].map(i => JSON.parse(sample(i)).timestamp))
    await b.resetDropped()
    expect(b.dropped).toBe(0)
    await b.close()
    expect((await spoolAt(d, 5)).dropped).toBe(0)
  })

  it('skips unreadable lines and empty segments, moves the lines aside, logs it, and keeps the rest', async () => {
    const d = dir()
    const a = await spoolAt(d)
    await a.add(sample(1))
    await a.close()
    writeFileSync(join(d, '0000000000002.jsonl'), `\0\0garbage\n${sample(2)}\n{"no":"timestamp"}\n`)
    writeFileSync(join(d, '0000000000003.jsonl'), '')
    writeFileSync(join(d, '0000000000004.jsonl.tmp-99999'), 'half a write')
    const b = await spoolAt(d)
    await b.add(sample(5))
    expect(await drainAll(b)).toEqual([1, 2, 5].map(i => JSON.parse(sample(i)).timestamp))
    expect(b.count).toBe(0)
    expect(readdirSync(d).sort()).toEqual(['0000000000002.corrupt', 'agent.lock'])
    expect(readFileSync(join(d, '0000000000002.corrupt'), 'utf8')).toBe('\0\0garbage\n{"no":"timestamp"}\n')
    expect(logged.filter(l => l.includes('.corrupt'))).toEqual(['spool file 0000000000002.jsonl was damaged: 2 line(s) moved aside as 0000000000002.corrupt, the rest kept'])
  })

  it('moves a batch the server refused aside as .rejected; later samples go to a new segment', async () => {
    const d = dir()
    const s = await spoolAt(d)
    await s.add(sample(1))
    const batch = (await s.oldest())!
    await s.add(sample(2))
    await s.setAside(batch, 'refused')
    expect(s.count).toBe(1)
    expect(readdirSync(d)).toContain('0000000000001.rejected')
    expect(await drainAll(s)).toEqual([JSON.parse(sample(2)).timestamp])
  })

  it('keeps at most 10 set-aside files (oldest removed), and numbers new files past them so a rename never overwrites one', async () => {
    const d = dir()
    // An earlier run left set-aside files numbered past any live one.
    writeFileSync(join(d, '0000000000007.rejected'), 'earlier')
    const s = await spoolAt(d)
    await s.add(sample(1))
    const first = await s.oldest()
    expect(first!.seq).toBe(8)
    await s.setAside(first!, 'refused')
    expect(readFileSync(join(d, '0000000000007.rejected'), 'utf8')).toBe('earlier')
    for (let i = 0; i < 12; i++) {
      await s.add(sample(i + 2))
      await s.setAside((await s.oldest())!, 'refused')
    }
    const aside = readdirSync(d).filter(f => f.endsWith('.rejected')).sort()
    expect(aside).toHaveLength(10)
    expect(aside.at(-1)).toBe('0000000000020.rejected')
    expect(aside[0]).toBe('0000000000011.rejected')
  })

  it('drops the samples of a batch the server refused, counts them, keeps the rest', async () => {
    const d = dir()
    const s = await spoolAt(d)
    for (let i = 1; i <= 4; i++) await s.add(sample(i))
    await s.dropSamples((await s.oldest())!, [0, 2])
    expect(s.count).toBe(2)
    expect(s.dropped).toBe(2)
    expect(timestampsOf((await s.oldest())!.body)).toEqual([sample(2), sample(4)].map(x => (JSON.parse(x) as { timestamp: string }).timestamp))
    await s.close()
    const again = await spoolAt(d)
    expect(again.count).toBe(2)
    expect(again.dropped).toBe(2)
  })

  it('is locked: a second agent on the same directory is refused, a stale lock is taken over', async () => {
    const d = dir()
    const a = await spoolAt(d)
    expect(readFileSync(join(d, 'agent.lock'), 'utf8').split('\n')[0]).toBe(String(process.pid))
    await a.close()
    expect(existsSync(join(d, 'agent.lock'))).toBe(false)
    // A live agent holds it (a process whose command line names nodepulse stands in for one). Our
    // own pid would be a stale lock: a restarted agent in a container is pid 1 again.
    const other = agentStandIn()
    writeFileSync(join(d, 'agent.lock'), `${other.pid}\n`)
    await expect(openSpool(d, 10, log)).rejects.toThrow(SpoolLockedError)
    await expect(openSpool(d, 10, log)).rejects.toThrow(`another agent (pid ${other.pid}) uses the spool directory ${d}`)
    // A pid that has exited: its lock is stale.
    const gone = spawnSync(process.execPath, ['-e', '0']).pid
    writeFileSync(join(d, 'agent.lock'), `${gone}\n`)
    const b = await spoolAt(d)
    expect(readFileSync(join(d, 'agent.lock'), 'utf8').split('\n')[0]).toBe(String(process.pid))
    await b.close()
  })

  it.runIf(platform() === 'linux')('takes over a lock whose pid now belongs to another program (after a power loss), or to another boot', async () => {
    const d = dir()
    // pid 1 is alive, and not an agent (as root kill(1, 0) succeeds; else it says EPERM).
    writeFileSync(join(d, 'agent.lock'), '1\n')
    const a = await spoolAt(d)
    await a.close()
    // A live agent's pid, but written before the last reboot.
    const other = agentStandIn()
    writeFileSync(join(d, 'agent.lock'), `${other.pid}\n00000000-0000-4000-8000-000000000000\n`)
    const b = await spoolAt(d)
    const [pid, bootId] = readFileSync(join(d, 'agent.lock'), 'utf8').split('\n')
    expect(pid).toBe(String(process.pid))
    expect(bootId).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim())
    await b.close()
    // The same live agent in this boot holds it.
    writeFileSync(join(d, 'agent.lock'), `${other.pid}\n${bootId}\n`)
    await expect(openSpool(d, 10, log)).rejects.toThrow(SpoolLockedError)
  })

  it.runIf(platform() === 'linux')('two agents taking over the same stale lock at once: exactly one gets it', async () => {
    const holders = [agentStandIn(), agentStandIn(), agentStandIn()]
    for (let round = 0; round < 30; round++) {
      const d = dir()
      writeFileSync(join(d, 'agent.lock'), '1\n')
      const results = await Promise.allSettled(holders.map(h => lockSpool(d, { pid: h.pid })))
      const won = results.filter(r => r.status === 'fulfilled')
      expect(won.length, `round ${round}`).toBe(1)
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(SpoolLockedError)
      expect(readdirSync(d)).toEqual(['agent.lock'])
    }
  })
})
