/**
 * The readings `nodepulse agent --listen` serves (seed 003's member API): the agent's recent
 * samples, on disk beside the spool, each with a cursor id, so an aggregator that keeps the cursor
 * neither loses nor repeats a reading across restarts of the agent.
 *
 * - `readings.jsonl` (appended to) and `readings.old.jsonl` (the half before), one reading per line
 *   starting `{"id":N,`: when the current file holds half the bound it becomes the old one (a rename,
 *   no rewrite), so between keep/2 and keep readings are kept, at a cost of one line per sample;
 * - ids are `max(last id + 1, now in µs)`: they keep rising across restarts (the last id is read
 *   back at start) and even when the directory is wiped (the clock is ahead of any id given
 *   before), while a clock stepped back still gets the next id. They stay below 2^53 and fit the
 *   cursor's 16 digits until the year 2255.
 * A torn last line (a crash) is skipped, and the next reading starts on a line of its own.
 */
import { promises as fsp } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'

const CURRENT = 'readings.jsonl'
const OLD = 'readings.old.jsonl'
const ID = /^\{"id":(\d{1,16}),/

/** One reading as the member API serves it, without its node. */
export interface StoredReading {
  id: number
  timestamp: string
  cpu_percent: number
  memory_percent: number | null
  disk_percent: number | null
  uptime_seconds: number | null
  active_backups: number | null
}

/** The sample fields a reading keeps (a statsSample as the sampler makes it). */
export interface SampleFields {
  cpu_percent: number
  memory_percent?: number | null
  disk_percent?: number | null
  uptime_seconds?: number | null
  active_backups?: number | null
  timestamp?: string
}

export interface ReadingStore {
  /** Readings kept. */
  readonly count: number
  /** The newest reading, if any. */
  readonly latest: StoredReading | undefined
  add: (sample: SampleFields) => Promise<StoredReading>
  /** Readings after the cursor `since`, oldest first, at most `limit`; `more` when others follow. */
  page: (since: number, limit: number) => Promise<{ readings: StoredReading[], more: boolean }>
  close: () => Promise<void>
}

function parse(line: string): StoredReading | undefined {
  if (!ID.test(line)) return undefined
  try {
    const r = JSON.parse(line) as StoredReading
    return typeof r.timestamp === 'string' && typeof r.cpu_percent === 'number' ? r : undefined
  }
  catch {
    return undefined
  }
}

/** Opens the store in `dir` (the spool directory, already locked by the caller), keeping at most `keep` readings. */
export async function openReadings(dir: string, keep: number): Promise<ReadingStore> {
  const half = Math.max(1, Math.ceil(keep / 2))
  const read = (name: string) => fsp.readFile(join(dir, name), 'utf8').catch(() => '')
  const lines = (text: string) => text.split('\n').filter(l => l !== '')
  const oldText = await read(OLD)
  const curText = await read(CURRENT)
  let oldCount = lines(oldText).length
  let curCount = lines(curText).length
  let latest: StoredReading | undefined
  for (const line of [...lines(oldText), ...lines(curText)]) {
    const r = parse(line)
    if (r && (!latest || r.id > latest.id)) latest = r
  }
  let lastId = latest?.id ?? 0
  // A crash tore the last line: the next reading begins on a line of its own.
  let needsNewline = curText !== '' && !curText.endsWith('\n')
  let handle: FileHandle | undefined

  async function rotate(): Promise<void> {
    await handle?.close()
    handle = undefined
    await fsp.rename(join(dir, CURRENT), join(dir, OLD))
    oldCount = curCount
    curCount = 0
    needsNewline = false
  }

  return {
    get count() {
      return oldCount + curCount
    },
    get latest() {
      return latest
    },

    async add(sample) {
      if (curCount >= half) await rotate()
      const id = Math.max(lastId + 1, Date.now() * 1000)
      const reading: StoredReading = {
        id,
        timestamp: sample.timestamp ?? new Date().toISOString(),
        cpu_percent: sample.cpu_percent,
        memory_percent: sample.memory_percent ?? null,
        disk_percent: sample.disk_percent ?? null,
        uptime_seconds: sample.uptime_seconds ?? null,
        active_backups: sample.active_backups ?? null,
      }
      handle ??= await fsp.open(join(dir, CURRENT), 'a', 0o600)
      await handle.write(`${needsNewline ? '\n' : ''}${JSON.stringify(reading)}\n`)
      needsNewline = false
      lastId = id
      latest = reading
      curCount++
      return reading
    },

    async page(since, limit) {
      const out: StoredReading[] = []
      let more = false
      for (const text of [await read(OLD), await read(CURRENT)]) {
        for (const line of text.split('\n')) {
          // The id is read without parsing the line: most lines of a poll are before the cursor.
          const m = ID.exec(line)
          if (!m || Number(m[1]) <= since) continue
          const r = parse(line)
          if (!r) continue
          if (out.length === limit) {
            more = true
            break
          }
          out.push(r)
        }
        if (more) break
      }
      return { readings: out, more }
    },

    async close() {
      await handle?.close()
      handle = undefined
    },
  }
}
