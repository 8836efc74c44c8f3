/**
 * The spool: samples the server did not take yet, on disk, so an outage, a crash or a restart
 * loses none. The format is the shell agent's too (cli/shell/nodepulse-agent.sh), so a host that
 * switches agent kind keeps its backlog:
 *
 * - segment files `<13-digit rising number>.jsonl`, one serialized sample per line, oldest number
 *   first; a segment is one send batch, so it is sealed at {@link MAX_SAMPLES_PER_REPORT} samples
 *   or {@link SEGMENT_MAX_BYTES} bytes, and at a restart the newest is appended to only while it
 *   ends in a whole line;
 * - a sample is appended (never a rewrite of the file) and fsynced at most every
 *   {@link SYNC_EVERY_MS} (and when a segment is sealed or the agent stops): a crash loses at most
 *   those seconds and may tear the last line;
 * - a torn or unreadable line is skipped, counted and moved aside to `<number>.corrupt` when the
 *   segment is read; a batch the server refused for good goes aside as `<number>.rejected`;
 * - `dropped`: the number of samples dropped (the bound, refused samples) the server was not told of yet;
 * - `agent.lock`: the running agent's pid on the first line.
 *
 * A segment is removed only after the server stored it; a crash between the two resends it, which
 * stores nothing twice (the server keys samples by node and timestamp).
 */
import { promises as fsp } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { MAX_REPORT_BYTES, MAX_SAMPLES_PER_REPORT } from '../../shared/contracts/limits'
import type { Log } from './log'

/** A segment's most bytes: its batch body (`{"samples":[` + lines joined by commas + `]}`) stays under MAX_REPORT_BYTES. */
export const SEGMENT_MAX_BYTES = MAX_REPORT_BYTES - 64
/** Appended samples are fsynced at most this often (and when a segment is sealed or the agent stops). */
export const SYNC_EVERY_MS = 10_000
/** Set-aside files kept (the oldest beyond are removed): they are for a look by hand, not a second spool. */
export const MAX_SET_ASIDE = 10
const LOCK = 'agent.lock'
const DROPPED = 'dropped'

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

interface Segment { seq: number, count: number, bytes: number }

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
  /** The oldest batch; unreadable lines are moved aside (and logged), an empty segment is removed and the next one returned. */
  oldest: () => Promise<SpooledBatch | undefined>
  /** Removes a batch the server stored. */
  remove: (batch: SpooledBatch) => Promise<void>
  /** Moves a batch the server refused for good aside as `<number>.rejected` (at most {@link MAX_SET_ASIDE} are kept). */
  setAside: (batch: SpooledBatch, why: 'refused' | 'corrupt') => Promise<void>
  /** Drops the batch's samples at these indexes (the server refused them), counting them as dropped; the rest stay to be sent. */
  dropSamples: (batch: SpooledBatch, indexes: number[]) => Promise<void>
  /** The server has been told of the drops: start counting again. */
  resetDropped: () => Promise<void>
  /** Syncs what was appended and releases the lock. */
  close: () => Promise<void>
}

/** Whether a spool line is a sample an agent wrote: a JSON object with a timestamp. */
export function isSampleLine(line: string): boolean {
  if (!line.startsWith('{') || !line.endsWith('}')) return false
  try {
    const s: unknown = JSON.parse(line)
    if (typeof s !== 'object' || s === null || Array.isArray(s)) return false
    const t = (s as { timestamp?: unknown }).timestamp
    return typeof t === 'string' || typeof t === 'number'
  }
  catch {
    return false
  }
}

/** A segment's whole, readable lines and the rest (a torn last line has no newline after it). */
export function splitSegment(text: string): { good: string[], bad: string[] } {
  const lines = text.split('\n')
  // The piece after the last newline: '' for a whole file, else a line a crash cut short.
  const torn = lines.pop()!
  const good: string[] = []
  const bad: string[] = []
  for (const line of lines) {
    if (line === '') continue
    ;(isSampleLine(line) ? good : bad).push(line)
  }
  if (torn !== '') bad.push(torn)
  return { good, bad }
}

const NAME = /^(\d{13})\.jsonl$/
const ASIDE_NAME = /^(\d{13})\.(rejected|corrupt)$/
/** The Node agent's earlier format: one `{"samples":[…]}` batch per file. Read once and rewritten as segments. */
const LEGACY = /^(\d{12})\.json$/
const LEGACY_DROPPED = 'dropped.json'
const seqName = (seq: number) => String(seq).padStart(13, '0')

/**
 * Opens (creating it, mode 0700) and locks the spool directory, reads what an earlier run left
 * (either agent's), and keeps at most `max` samples.
 */
export async function openSpool(dir: string, max: number, log: Log): Promise<Spool> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 })
  const unlock = await lockSpool(dir)
  const segments: Segment[] = []
  let count = 0
  let dropped = 0
  let highest = 0
  const file = (seq: number) => join(dir, `${seqName(seq)}.jsonl`)
  try {
    const names = (await fsp.readdir(dir)).sort()
    for (const name of names) {
      const n = /^(\d+)\./.exec(name)
      if (n && n[1]!.length <= 15) highest = Math.max(highest, Number(n[1]))
      // A temporary file is a write that never finished: its data is in no segment yet, and never will be.
      if (/\.tmp-\d+$/.test(name)) await fsp.rm(join(dir, name), { force: true })
    }
    for (const name of names) {
      const m = NAME.exec(name)
      if (!m) continue
      const text = await fsp.readFile(join(dir, name), 'utf8').catch(() => '')
      // Counted as the shell agent counts: whole lines; unreadable ones are sorted out when the segment is sent.
      const lines = text.split('\n').length - 1
      segments.push({ seq: Number(m[1]), count: lines, bytes: Buffer.byteLength(text) })
      count += lines
    }
    // Batches the Node agent wrote before the segments: their samples become segments after the rest.
    for (const name of names) {
      if (!LEGACY.test(name)) continue
      const samples = legacySamples(await fsp.readFile(join(dir, name), 'utf8').catch(() => ''))
      if (samples?.length) {
        const seq = ++highest
        const text = `${samples.join('\n')}\n`
        await writeAtomic(file(seq), text)
        segments.push({ seq, count: samples.length, bytes: Buffer.byteLength(text) })
        count += samples.length
      }
      await fsp.rm(join(dir, name), { force: true })
    }
    const saved = (await fsp.readFile(join(dir, DROPPED), 'utf8').catch(() => '')).trim()
    dropped = /^\d+$/.test(saved) ? Number(saved) : 0
    const legacy = JSON.parse(await fsp.readFile(join(dir, LEGACY_DROPPED), 'utf8').catch(() => '{}')) as { dropped?: unknown }
    if (typeof legacy.dropped === 'number' && legacy.dropped > 0) {
      dropped += legacy.dropped
      await saveDropped()
      await fsp.rm(join(dir, LEGACY_DROPPED), { force: true })
    }
  }
  catch (error) {
    await unlock()
    throw error
  }

  // The segment samples are appended to: the newest, while it ends in a whole line, has room and no file is numbered after it.
  let open: { seg: Segment, handle: FileHandle | undefined } | undefined
  let unsynced = false
  let syncedAt = 0
  const newest = segments.at(-1)
  if (newest && newest.seq === highest && newest.count < MAX_SAMPLES_PER_REPORT && newest.bytes < SEGMENT_MAX_BYTES) {
    const text = await fsp.readFile(file(newest.seq), 'utf8').catch(() => '')
    if (text.endsWith('\n')) open = { seg: newest, handle: undefined }
  }

  async function saveDropped() {
    if (dropped > 0) await writeAtomic(join(dir, DROPPED), `${dropped}\n`)
    else await fsp.rm(join(dir, DROPPED), { force: true })
  }

  async function sync(force: boolean) {
    if (!open?.handle || !unsynced) return
    if (!force && performance.now() - syncedAt < SYNC_EVERY_MS) return
    await open.handle.sync()
    unsynced = false
    syncedAt = performance.now()
  }

  async function seal() {
    if (!open) return
    const handle = open.handle
    await sync(true)
    open = undefined
    await handle?.close()
  }

  async function moveAside(seq: number, why: 'rejected' | 'corrupt', lines?: string[]) {
    const to = join(dir, `${seqName(seq)}.${why}`)
    if (lines) await fsp.appendFile(to, `${lines.join('\n')}\n`, { mode: 0o600 })
    else await fsp.rename(file(seq), to).catch(() => fsp.rm(file(seq), { force: true }))
    const aside = (await fsp.readdir(dir).catch(() => [] as string[])).filter(n => ASIDE_NAME.test(n)).sort()
    for (const old of aside.slice(0, Math.max(0, aside.length - MAX_SET_ASIDE))) await fsp.rm(join(dir, old), { force: true })
    return to
  }

  const forget = (seg: Segment) => {
    segments.splice(segments.indexOf(seg), 1)
    count -= seg.count
  }

  /** Removes a segment's file (sealing it first when samples are appended to it). */
  async function removeSegment(seg: Segment) {
    if (open?.seg === seg) await seal()
    await fsp.rm(file(seg.seq), { force: true })
    forget(seg)
  }

  /** Rewrites a segment with these lines only (rare: a drop inside it, or a repair), or removes it when none are left. */
  async function rewrite(seg: Segment, lines: string[]) {
    if (!lines.length) return removeSegment(seg)
    if (open?.seg === seg) await seal()
    const text = `${lines.join('\n')}\n`
    await writeAtomic(file(seg.seq), text)
    count += lines.length - seg.count
    Object.assign(seg, { count: lines.length, bytes: Buffer.byteLength(text) })
  }

  /** A segment's readable lines; unreadable ones are moved aside to `<number>.corrupt`, counted and logged. */
  async function linesOf(seg: Segment): Promise<string[]> {
    if (open?.seg === seg) await sync(true)
    const { good, bad } = splitSegment(await fsp.readFile(file(seg.seq), 'utf8').catch(() => ''))
    if (bad.length) {
      const aside = await moveAside(seg.seq, 'corrupt', bad)
      log.warn(`spool file ${seqName(seg.seq)}.jsonl was damaged: ${bad.length} line(s) moved aside as ${aside.slice(dir.length + 1)}, the rest kept`)
      await rewrite(seg, good)
    }
    else if (good.length !== seg.count) {
      count += good.length - seg.count
      seg.count = good.length
    }
    return good
  }

  async function dropOldest(excess: number) {
    while (excess > 0 && segments.length) {
      const seg = segments[0]!
      // A sealed segment goes whole when that keeps at least 90 % of the bound (no rewrite per
      // sample through a long outage at the default bound); a small bound is kept exactly.
      if (seg.count <= excess || (seg !== open?.seg && seg.count - excess <= max / 10)) {
        excess -= Math.min(excess, seg.count)
        dropped += seg.count
        await removeSegment(seg)
        continue
      }
      const lines = await linesOf(seg)
      if (!segments.includes(seg)) continue
      const n = Math.min(excess, lines.length)
      await rewrite(seg, lines.slice(n))
      dropped += n
      excess -= n
    }
    await saveDropped()
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
      const size = Buffer.byteLength(sample) + 1
      if (open && !(open.seg.count < MAX_SAMPLES_PER_REPORT && open.seg.bytes + size <= SEGMENT_MAX_BYTES && segments.includes(open.seg))) await seal()
      if (!open) {
        const seg: Segment = { seq: ++highest, count: 0, bytes: 0 }
        segments.push(seg)
        open = { seg, handle: undefined }
      }
      open.handle ??= await fsp.open(file(open.seg.seq), 'a', 0o600)
      await open.handle.write(`${sample}\n`)
      unsynced = true
      open.seg.count++
      open.seg.bytes += size
      count++
      await sync(false)
      if (count > max) await dropOldest(count - max)
    },

    async oldest() {
      while (segments.length) {
        const seg = segments[0]!
        // Sent as it is now: later samples go to a new segment, so removing this one after the send loses none.
        if (open?.seg === seg) await seal()
        const lines = await linesOf(seg)
        if (lines.length && segments.includes(seg)) return { seq: seg.seq, body: `{"samples":[${lines.join(',')}]}`, count: lines.length }
        if (segments.includes(seg)) await removeSegment(seg)
      }
      return undefined
    },

    async remove(batch) {
      const seg = segments.find(s => s.seq === batch.seq)
      if (seg) await removeSegment(seg)
    },

    async setAside(batch, why) {
      const seg = segments.find(s => s.seq === batch.seq)
      if (!seg) return
      if (open?.seg === seg) await seal()
      forget(seg)
      const to = await moveAside(seg.seq, why === 'refused' ? 'rejected' : 'corrupt')
      log.warn(`the server refused the spooled batch ${seqName(seg.seq)}.jsonl for good; moved it aside as ${to.slice(dir.length + 1)}`)
    },

    async dropSamples(batch, indexes) {
      const seg = segments.find(s => s.seq === batch.seq)
      if (!seg) return
      const lines = await linesOf(seg)
      if (!segments.includes(seg)) return
      const bad = new Set(indexes)
      const kept = lines.filter((_, i) => !bad.has(i))
      dropped += lines.length - kept.length
      await rewrite(seg, kept)
      await saveDropped()
    },

    async resetDropped() {
      dropped = 0
      await saveDropped()
    },

    async close() {
      await seal().catch(() => {})
      await unlock()
    },
  }
}

/** The samples of a batch file of the Node agent's earlier format, serialized again; undefined when unreadable. */
function legacySamples(text: string): string[] | undefined {
  try {
    const body: unknown = JSON.parse(text)
    if (typeof body !== 'object' || body === null || !('samples' in body) || !Array.isArray(body.samples)) return undefined
    return body.samples.map(s => JSON.stringify(s)).filter(isSampleLine)
  }
  catch {
    return undefined
  }
}
