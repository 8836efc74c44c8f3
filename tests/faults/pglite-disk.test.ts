/**
 * Fault injection: the embedded database's directory full or unwritable. The answer must be a
 * clear error at start or 503s, never a 500, a hang or a corrupted database, and the next start
 * with space (or write access) must work with every acknowledged sample still there.
 *
 * "Full" is a small tmpfs mount; "unwritable" is a read-only bind mount (the tests run as root,
 * where chmod stops no write). Both need mount(8) and the right to mount (root, as in CI); both
 * mounts are undone in afterAll. Prints its figures.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { afterAll, describe, expect, it } from 'vitest'
import { startServer, type RunningServer } from '../integration/support/server'
import { adminCookie, createAgents, push, sleep, until } from './support'

const root = mkdtempSync(join(tmpdir(), 'np-faults-disk-'))
const mounts: string[] = []

function mount(args: string[], target: string): void {
  mkdirSync(target, { recursive: true })
  execFileSync('mount', [...args, target], { stdio: 'pipe' })
  mounts.unshift(target)
}

/** Whether this process may mount a tmpfs (root on Linux): probed once, undone at once. */
function canMount(): boolean {
  const probe = join(root, 'probe')
  try {
    mount(['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs'], probe)
    execFileSync('umount', [probe])
    mounts.shift()
    return true
  }
  catch {
    return false
  }
}
const mountable = canMount()

const free = (dir: string) => {
  const s = statfsSync(dir)
  return s.bavail * s.bsize
}

/** Every sample the database holds for these nodes, as `node@ms`; opened directly, read-only use. */
async function storedKeys(dataDir: string, nodeIds: number[]): Promise<Set<string>> {
  const db = await PGlite.create(dataDir)
  try {
    const rows = await db.query<{ node_id: number, ms: number }>(`select node_id, (extract(epoch from ts) * 1000)::bigint::float8 as ms from node_samples where node_id = any($1)`, [nodeIds])
    return new Set(rows.rows.map(r => `${r.node_id}@${Number(r.ms)}`))
  }
  finally {
    await db.close()
  }
}

describe.runIf(mountable)('the PGlite directory full or unwritable', () => {
  const servers: RunningServer[] = []
  afterAll(async () => {
    for (const s of servers) await s.stop()
    for (const target of mounts) {
      try {
        execFileSync('umount', [target], { stdio: 'pipe' })
      }
      catch {
        execFileSync('umount', ['-l', target], { stdio: 'pipe' })
      }
    }
    rmSync(root, { recursive: true, force: true })
  })

  it('full at the first start: a clear error; with space the next start works', async () => {
    const disk = join(root, 'small')
    mount(['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs'], disk)
    const failed = await startServer({ label: 'disk-new-full', dataDir: disk }).then(s => (servers.push(s), 'started'), (error: Error) => error.message)
    console.log(`[faults] PGlite directory full at the first start: ${failed.split('\n').find(l => l.includes('start-up failed')) ?? failed.slice(0, 300)}`)
    expect(failed).toMatch(/start-up failed/)
    expect(failed).toMatch(/cannot open the embedded database in .*: the disk holding it is full \([\d.]+ MB free/)
    execFileSync('mount', ['-o', 'remount,size=256m', disk])
    const srv = await startServer({ label: 'disk-new', dataDir: disk })
    servers.push(srv)
    expect((await fetch(`${srv.info.baseURL}/api/health`)).status).toBe(200)
    await srv.stop()
  }, 120_000)

  it('full under load: 503s, no 500, no corruption; the next start with space has every acknowledged sample', async () => {
    const disk = join(root, 'fills')
    mount(['-t', 'tmpfs', '-o', 'size=256m', 'tmpfs'], disk)
    const dataDir = join(disk, 'data')
    const srv = await startServer({ label: 'disk-full', dataDir })
    servers.push(srv)
    const cookie = await adminCookie(srv)
    const agents = await createAgents(srv, cookie, 10, 'disk-full')
    const stop = new AbortController()
    const load = push(srv.info.baseURL, agents, stop.signal, { batch: 20, pauseMs: 20, hangMs: 20_000 })
    let filledAt = 0
    try {
      await until('samples are stored', () => load.answers.filter(a => a.status === 200).length > 50)
      // Leave the database a few hundred kilobytes: the next WAL segment or data pages do not fit.
      writeFileSync(join(disk, 'filler'), Buffer.alloc(Math.max(0, free(disk) - 256 * 1024)))
      filledAt = Date.now()
      await until('ingest refuses reports on the full disk', () => load.answers.some(a => a.at > filledAt && a.status !== 200), 60_000)
      await sleep(2000)
      const health = await fetch(`${srv.info.baseURL}/api/health`, { signal: AbortSignal.timeout(10_000) }).then(r => r.status, () => 0)
      stop.abort()
      await load.done
      const alive = srv.output()
      const statuses = [...new Set(load.answers.map(a => a.status))].sort()
      const whileFull = load.answers.filter(a => a.at > filledAt)
      console.log(`[faults] PGlite directory full under load: answers ${load.answers.length} (statuses ${statuses.join(', ')}), after the disk filled ${whileFull.length} (${whileFull.filter(a => a.status === 503).length} × 503), hangs ${load.hangs()}; /api/health then ${health}`)
      expect(statuses.every(s => s === 200 || s === 503), `statuses ${statuses.join(', ')}\n${alive.slice(-2000)}`).toBe(true)
      expect(load.answers.filter(a => a.status === 503).every(a => a.retryAfter !== null)).toBe(true)
      expect(load.hangs()).toBe(0)
    }
    finally {
      stop.abort()
      await load.done
    }
    await srv.stop()
    rmSync(join(disk, 'filler'))

    const started = performance.now()
    const again = await startServer({ label: 'disk-full-again', dataDir })
    servers.push(again)
    const restartMs = performance.now() - started
    const res = await fetch(`${again.info.baseURL}/api/v1/nodes/${agents[0]!.id}/stats`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'authorization': `Bearer ${agents[0]!.token}` }, body: JSON.stringify({ cpu_percent: 1, disk_percent: 1 }),
    })
    expect(res.status).toBe(200)
    await again.stop()
    const stored = await storedKeys(join(dataDir, 'db'), agents.map(a => a.id))
    const acked = [...load.acked].flatMap(([node, list]) => list.map(ts => `${node}@${ts}`))
    const lost = acked.filter(k => !stored.has(k))
    console.log(`[faults] PGlite directory full, next start with space: healthy in ${restartMs.toFixed(0)} ms, acknowledged ${acked.length}, lost ${lost.length}`)
    expect(lost).toEqual([])
  }, 180_000)

  it('unwritable: a clear error at start; writable again, the next start works', async () => {
    const dir = join(root, 'rw')
    const seeded = await startServer({ label: 'disk-rw', dataDir: dir })
    servers.push(seeded)
    const cookie = await adminCookie(seeded)
    const [agent] = await createAgents(seeded, cookie, 1, 'disk-ro')
    await seeded.stop()
    const readOnly = join(root, 'ro')
    mount(['--bind', dir], readOnly)
    execFileSync('mount', ['-o', 'remount,bind,ro', readOnly])
    const failed = await startServer({ label: 'disk-ro', dataDir: readOnly }).then(s => (servers.push(s), 'started'), (error: Error) => error.message)
    console.log(`[faults] PGlite directory unwritable: ${failed.split('\n').find(l => l.includes('start-up failed')) ?? failed.slice(0, 300)}`)
    expect(failed).toMatch(/start-up failed/)
    expect(failed).toMatch(/cannot open the embedded database in .*: the directory is not writable \(EROFS\)/)
    const again = await startServer({ label: 'disk-rw-again', dataDir: dir })
    servers.push(again)
    const nodes = await fetch(`${again.info.baseURL}/api/v1/nodes/${agent!.id}`, { headers: { cookie: await adminCookie(again) } })
    expect(nodes.status).toBe(200)
    await again.stop()
  }, 120_000)
})
