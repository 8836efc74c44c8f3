/**
 * The spool: samples the server did not take yet, on disk, so an outage, a crash or a restart
 * loses none. Each file is one ready-to-send batch (`{"samples":[…]}`, ≤ 1,000 samples and
 * ≤ MAX_REPORT_BYTES), named by a rising sequence number so the oldest goes first. Every write
 * is a temporary file, fsync, rename and directory fsync: a power cut leaves the old file or the
 * new one, never half of one.
 */
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { MAX_REPORT_BYTES, MAX_SAMPLES_PER_REPORT } from '../../shared/contracts/limits'
import type { Log } from './log'

/** A batch file's body around its samples: `{"samples":[` + `]}`. */
const ENVELOPE_BYTES = Buffer.byteLength('{"samples":[]}')
const SEGMENT = /^(\d{12})\.json$/
const ASIDE = /^(\d{12})\.json\.(refused|corrupt)$/
/** Set-aside files kept (the oldest beyond are removed): they are for a look by hand, not a second spool. */
export const MAX_SET_ASIDE = 10
const LOCK = 'agent.lock'
const DROPPED = 'dropped.json'

/** Whether one more sample of `size` bytes fits a batch of `count` samples and `bytes` bytes (the contract's limits). */
export const fitsBatch = (count: number, bytes: number, size: number): boolean =>
  count < MAX_SAMPLES_PER_REPORT && bytes + size + (count ? 1 : 0) <= MAX_REPORT_BYTES

const batchBody = (samples: string[]) => `{"samples":[${samples.join(',')}]}`

/** Writes `data` to `path` so that a crash leaves either the old file or the whole new one. */
export async function writeAtomic(path: string, data: string, mode = 0o600): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`
  const handle = await fsp.open(tmp, 'w', mode)
  try {
    await handle.writeFile(data)
    await handle.sync()
  }
  finally {
    await handle.close()
  }
  await fsp.rename(tmp, path)
  await syncDir(path.slice(0, path.lastIndexOf('/')) || '/')
}

async function syncDir(dir: string): Promise<void> {
  // The rename itself is durable only once the directory is synced (not possible on every platform).
  const handle = await fsp.open(dir, 'r').catch(() => undefined)
  if (!handle) return
  await handle.sync().catch(() => {})
  await handle.close()
}

/** The spool directory is used by another running agent. */
export class SpoolLockedError extends Error {}

/** This boot's id (Linux), so a lock from before a reboot is known stale whatever its pid; undefined elsewhere. */
const readBootId = async (): Promise<string | undefined> =>
  (await fsp.readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => ''))!.trim() || undefined

/** What a lock file says: the holder's pid (first line, what the shell agent reads and writes) and, from the Node agent, the boot id. */
export function parseLock(text: string): { pid: number, bootId?: string } {
  const [pid = '', bootId = ''] = text.split('\n').map(l => l.trim())
  return { pid: /^\d+$/.test(pid) ? Number(pid) : Number.NaN, ...(bootId ? { bootId } : {}) }
}

/**
 * Whether the lock's holder is an agent still running: the pid is alive and (on Linux) its
 * /proc/<pid>/cmdline mentions nodepulse, and the lock is of this boot. After a power loss the
 * old pid often belongs to another process (under DynamicUser, a root one: kill(pid, 0) says
 * EPERM), which must not keep the service out for good. Off Linux: kill(pid, 0), EPERM = alive.
 */
export async function lockHeld(text: string, bootId: string | undefined, ownPid = process.pid): Promise<boolean> {
  const lock = parseLock(text)
  if (!Number.isInteger(lock.pid) || lock.pid <= 0 || lock.pid === ownPid) return false
  if (lock.bootId && bootId && lock.bootId !== bootId) return false
  if (process.platform === 'linux') {
    const cmdline = await fsp.readFile(`/proc/${lock.pid}/cmdline`, 'utf8').catch(() => undefined)
    if (cmdline !== undefined) return /nodepulse/i.test(cmdline)
    // No /proc entry: gone (or /proc is not there: then kill tells).
    if (await fsp.access('/proc/self/cmdline').then(() => true, () => false)) return false
  }
  try {
    process.kill(lock.pid, 0)
    return true
  }
  catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes the spool's lock file, `agent.lock`: `<pid>\n<boot id>\n` (the boot id on Linux only; the
 * shell agent reads the pid on the first line). The file is written whole, then linked into place,
 * which fails if a lock exists: no other agent ever reads a half-written lock. A lock whose holder is
 * not a running agent (see {@link lockHeld}) is taken over, by one agent at a time: only the holder of
 * `agent.lock.takeover` (taken the same way) removes it, and only when it still reads as the stale
 * lock it judged; then every contender links its own, and exactly one link succeeds.
 */
export async function lockSpool(dir: string, opts: { pid?: number } = {}): Promise<() => Promise<void>> {
  const path = join(dir, LOCK)
  const takeover = `${path}.takeover`
  const pid = opts.pid ?? process.pid
  const bootId = await readBootId()
  const mine = `${pid}\n${bootId ? `${bootId}\n` : ''}`
  const tmp = join(dir, `${LOCK}.new-${pid}-${Math.random().toString(36).slice(2)}`)
  const link = (to: string) => fsp.link(tmp, to).then(() => true, (error: NodeJS.ErrnoException) => {
    if (error.code === 'EEXIST') return false
    throw error
  })
  const read = (file: string) => fsp.readFile(file, 'utf8').catch(() => undefined)
  await writeAtomic(tmp, mine)
  try {
    for (let attempt = 0; attempt < 50; attempt++) {
      if (await link(path)) {
        return async () => {
          // Only our own lock: never one another agent took after ours was taken over.
          if (await read(path) === mine) await fsp.rm(path, { force: true })
        }
      }
      const text = await read(path)
      if (text === undefined) continue
      if (await lockHeld(text, bootId, pid)) {
        throw new SpoolLockedError(`another agent (pid ${parseLock(text).pid}) uses the spool directory ${dir}; give each agent a --spool-dir of its own`)
      }
      if (await link(takeover)) {
        try {
          if (await read(path) === text) await fsp.rm(path, { force: true })
        }
        finally {
          await fsp.rm(takeover, { force: true })
        }
        continue
      }
      // Another agent is taking over; one that died doing so leaves a takeover file that is stale too.
      const other = await read(takeover)
      if (other !== undefined && !(await lockHeld(other, bootId, pid))) {
        if (await read(takeover) === other) await fsp.rm(takeover, { force: true })
      }
      await new Promise(resolve => setTimeout(resolve, 5 + Math.random() * 20))
    }
    throw new SpoolLockedError(`cannot take the lock ${path}`)
  }
  finally {
    await fsp.rm(tmp, { force: true })
  }
}

interface Segment { seq: number, count: number, bytes: number, samples?: string[] }

/** A spooled batch, ready to send as it is. */
export interface SpooledBatch { seq: number, body: string, count: number }

export interface Spool {
  readonly dir: string
  /** Samples waiting. */
  readonly count: number
  /** Samples dropped (oldest first) to keep the bound, since the server was last told. */
  readonly dropped: number
  /** Adds one sample (a serialized statsSample); past the bound the oldest are dropped and counted. */
  add: (sample: string) => Promise<void>
  /** The oldest batch; an unreadable file is set aside as `.corrupt` (and logged) and the next one returned. */
  oldest: () => Promise<SpooledBatch | undefined>
  /** Removes a batch the server stored. */
  remove: (batch: SpooledBatch) => Promise<void>
  /** Moves a batch the server refused for good to `<name>.refused`, out of the way (at most {@link MAX_SET_ASIDE} are kept). */
  setAside: (batch: SpooledBatch, why: 'refused' | 'corrupt') => Promise<void>
  /** Drops the batch's samples at these indexes (the server refused them), counting them as dropped; the rest stay to be sent. */
  dropSamples: (batch: SpooledBatch, indexes: number[]) => Promise<void>
  /** The server has been told of the drops: start counting again. */
  resetDropped: () => Promise<void>
  /** Releases the lock. */
  close: () => Promise<void>
}

/** Reads a batch file's samples; undefined when it is not a batch the agent wrote (truncated, corrupt). */
function parseBatch(text: string): unknown[] | undefined {
  try {
    const body: unknown = JSON.parse(text)
    if (typeof body !== 'object' || body === null || !('samples' in body) || !Array.isArray(body.samples) || body.samples.length === 0) return undefined
    return body.samples.every(s => typeof s === 'object' && s !== null && typeof (s as { timestamp?: unknown }).timestamp === 'string') ? body.samples : undefined
  }
  catch {
    return undefined
  }
}

/**
 * Opens (creating it, mode 0700) and locks the spool directory, reads what an earlier run left,
 * and keeps at most `max` samples.
 */
export async function openSpool(dir: string, max: number, log: Log): Promise<Spool> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 })
  const unlock = await lockSpool(dir)
  const segments: Segment[] = []
  let count = 0
  let dropped = 0
  // Numbering goes on past set-aside files too, so a later rename never overwrites one.
  let highestAside = 0
  try {
    const names = (await fsp.readdir(dir)).sort()
    for (const name of names) {
      const aside = ASIDE.exec(name)
      if (aside) highestAside = Math.max(highestAside, Number(aside[1]))
      // A temporary file is a write that never finished: its data is in no batch yet, and never will be.
      if (/\.tmp-\d+$/.test(name)) {
        await fsp.rm(join(dir, name), { force: true })
        continue
      }
      const m = SEGMENT.exec(name)
      if (!m) continue
      const text = await fsp.readFile(join(dir, name), 'utf8').catch(() => '')
      const samples = parseBatch(text)
      if (!samples) {
        await moveAside(name, 'corrupt')
        continue
      }
      segments.push({ seq: Number(m[1]), count: samples.length, bytes: Buffer.byteLength(text) })
      count += samples.length
    }
    const saved = JSON.parse(await fsp.readFile(join(dir, DROPPED), 'utf8').catch(() => '{}')) as { dropped?: unknown }
    dropped = typeof saved.dropped === 'number' && saved.dropped > 0 ? saved.dropped : 0
  }
  catch (error) {
    await unlock()
    throw error
  }
  let nextSeq = Math.max(segments.at(-1)?.seq ?? 0, highestAside) + 1

  const file = (seq: number) => join(dir, `${String(seq).padStart(12, '0')}.json`)

  async function moveAside(name: string, why: 'refused' | 'corrupt') {
    await fsp.rename(join(dir, name), join(dir, `${name}.${why}`)).catch(() => fsp.rm(join(dir, name), { force: true }))
    const aside = (await fsp.readdir(dir).catch(() => [] as string[])).filter(n => ASIDE.test(n)).sort()
    for (const old of aside.slice(0, Math.max(0, aside.length - MAX_SET_ASIDE))) await fsp.rm(join(dir, old), { force: true })
    log.warn(why === 'corrupt'
      ? `spool file ${join(dir, name)} is unreadable (truncated or corrupt); moved it aside as ${name}.corrupt and went on`
      : `the server refused the spooled batch ${name} for good; moved it aside as ${name}.refused`)
  }

  async function samplesOf(seg: Segment): Promise<string[] | undefined> {
    if (seg.samples) return seg.samples
    const parsed = parseBatch(await fsp.readFile(file(seg.seq), 'utf8').catch(() => ''))
    return parsed?.map(s => JSON.stringify(s))
  }

  const forget = (seg: Segment) => {
    segments.splice(segments.indexOf(seg), 1)
    count -= seg.count
  }

  async function dropOldest(excess: number) {
    while (excess > 0 && segments.length) {
      const seg = segments[0]!
      if (seg.count <= excess) {
        await fsp.rm(file(seg.seq), { force: true })
        forget(seg)
        dropped += seg.count
        excess -= seg.count
        continue
      }
      const samples = await samplesOf(seg)
      if (!samples) {
        forget(seg)
        await moveAside(`${String(seg.seq).padStart(12, '0')}.json`, 'corrupt')
        continue
      }
      const kept = samples.slice(excess)
      const body = batchBody(kept)
      await writeAtomic(file(seg.seq), body)
      count -= excess
      dropped += excess
      Object.assign(seg, { count: kept.length, bytes: Buffer.byteLength(body), samples: seg.samples ? kept : undefined })
      excess = 0
    }
    await writeAtomic(join(dir, DROPPED), JSON.stringify({ dropped }))
  }

  return {
    dir,
    get count() {
      return count
    },
    get dropped() {
      return dropped
    },

    async add(sample) {
      const size = Buffer.byteLength(sample)
      const last = segments.at(-1)
      // Append to the newest file while it is one this run wrote (its samples are in memory) and the batch has room.
      if (last?.samples && fitsBatch(last.count, last.bytes, size)) {
        const samples = [...last.samples, sample]
        const body = batchBody(samples)
        await writeAtomic(file(last.seq), body)
        Object.assign(last, { samples, count: samples.length, bytes: Buffer.byteLength(body) })
      }
      else {
        const seg: Segment = { seq: nextSeq++, count: 1, bytes: ENVELOPE_BYTES + size, samples: [sample] }
        await writeAtomic(file(seg.seq), batchBody(seg.samples!))
        segments.push(seg)
      }
      count++
      if (count > max) await dropOldest(count - max)
    },

    async oldest() {
      while (segments.length) {
        const seg = segments[0]!
        const name = `${String(seg.seq).padStart(12, '0')}.json`
        const text = seg.samples ? batchBody(seg.samples) : await fsp.readFile(file(seg.seq), 'utf8').catch(() => '')
        const samples = seg.samples ?? parseBatch(text)
        if (samples) return { seq: seg.seq, body: text, count: seg.count }
        forget(seg)
        await moveAside(name, 'corrupt')
      }
      return undefined
    },

    async remove(batch) {
      const seg = segments.find(s => s.seq === batch.seq)
      await fsp.rm(file(batch.seq), { force: true })
      if (seg) forget(seg)
    },

    async setAside(batch, why) {
      const seg = segments.find(s => s.seq === batch.seq)
      if (seg) forget(seg)
      await moveAside(`${String(batch.seq).padStart(12, '0')}.json`, why)
    },

    async dropSamples(batch, indexes) {
      const seg = segments.find(s => s.seq === batch.seq)
      if (!seg) return
      const samples = await samplesOf(seg)
      if (!samples) {
        forget(seg)
        await moveAside(`${String(seg.seq).padStart(12, '0')}.json`, 'corrupt')
        return
      }
      const bad = new Set(indexes)
      const kept = samples.filter((_, i) => !bad.has(i))
      const n = samples.length - kept.length
      if (!kept.length) {
        await fsp.rm(file(seg.seq), { force: true })
        forget(seg)
      }
      else {
        const body = batchBody(kept)
        await writeAtomic(file(seg.seq), body)
        count -= n
        Object.assign(seg, { count: kept.length, bytes: Buffer.byteLength(body), samples: seg.samples ? kept : undefined })
      }
      dropped += n
      await writeAtomic(join(dir, DROPPED), JSON.stringify({ dropped }))
    },

    async resetDropped() {
      dropped = 0
      await fsp.rm(join(dir, DROPPED), { force: true })
    },

    close: unlock,
  }
}
