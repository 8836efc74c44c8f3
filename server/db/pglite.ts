import { spawn } from 'node:child_process'
import { constants, existsSync } from 'node:fs'
import { access, mkdir, readdir, rm, statfs } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { PGlite } from '@electric-sql/pglite'

/**
 * Memory settings of the embedded Postgres. Its defaults are a server's: 128 MB of shared
 * buffers, touched at start-up inside the WebAssembly memory, which never shrinks. PGlite reads
 * its files through the operating system's page cache anyway, so small buffers cost a system
 * call per page read, not a disk read. BENCHMARKS.md ("Idle footprint") has the figures.
 */
const SETTINGS = ['shared_buffers=8MB', 'wal_buffers=256kB', 'temp_buffers=1MB', 'work_mem=4MB', 'maintenance_work_mem=16MB']
const START_PARAMS = [...PGlite.defaultStartParams, ...SETTINGS.flatMap(setting => ['-c', setting])]

/**
 * V8 compiles WebAssembly twice: a quick baseline (Liftoff) and then, for hot functions, an
 * optimised one (TurboFan). For Postgres's 9 MB module the optimised code costs ~45 MB of memory
 * and bursts of compiling, and measured no faster on our ingest and queries (BENCHMARKS.md).
 * Only WebAssembly is affected; it has to be set before the module is compiled.
 */
let baselineOnly = false
function compileBaselineOnly() {
  if (baselineOnly) return
  setFlagsFromString('--liftoff-only')
  baselineOnly = true
}

/**
 * Creating a new data directory runs Postgres's initdb, which leaves ~300 MB in the process that
 * is never given back. A new directory is therefore made by a short-lived child process, and
 * this process only ever opens an existing one.
 */
async function initialiseInChild(dataDir: string): Promise<void> {
  const entry = findUpward(dirname(fileURLToPath(import.meta.url)), 'node_modules/@electric-sql/pglite/dist/index.js')
  if (!entry) return // not found from here: the directory is made in-process
  const script = `import { PGlite } from ${JSON.stringify(pathToFileURL(entry).href)}
const db = await PGlite.create(process.argv[1], { startParams: JSON.parse(process.argv[2]) })
await db.close()`
  const child = spawn(process.execPath, ['--liftoff-only', '--input-type=module', '-e', script, dataDir, JSON.stringify(START_PARAMS)], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < 4000) stderr += chunk
  })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', resolve)
  })
  if (code !== 0) throw new Error(`creating the embedded database in ${dataDir} failed: ${stderr.trim().split('\n').slice(-3).join(' ') || `exit code ${code}`}`)
}

/** The file at `relative` below `from` or its nearest ancestor (how Node finds a package; the server bundle has only the ESM entry, so require.resolve does not). */
function findUpward(from: string, relative: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, relative))) return join(dir, relative)
    if (dirname(dir) === dir) return undefined
  }
}

/** A new database takes ~45 MB with its first WAL segment; less free space than this is named as the cause. */
const ROOM_NEEDED = 64 * 1024 * 1024

/**
 * Why PGlite could not start in dataDir, in words an operator can act on: its own errors say
 * "ErrnoError { errno: 51 }" for a full disk and "failed to initialize properly" for a read-only one.
 */
async function diagnose(dataDir: string): Promise<string | undefined> {
  try {
    await access(dataDir, constants.W_OK)
  }
  catch (error) {
    return `the directory is not writable (${(error as NodeJS.ErrnoException).code ?? 'no access'}): give the server write access to it, or set NODEPULSE_DATA_DIR`
  }
  const fs = await statfs(dataDir).catch(() => undefined)
  const free = fs ? fs.bavail * fs.bsize : Number.POSITIVE_INFINITY
  if (free < ROOM_NEEDED) return `the disk holding it is full (${(free / 2 ** 20).toFixed(1)} MB free; the database needs at least ${ROOM_NEEDED / 2 ** 20} MB to start and room to grow): free some space`
  return undefined
}

/** Opens (creating when new) the embedded database in dataDir, or in memory for `memory://`. */
export async function openPglite(dataDir: string): Promise<PGlite> {
  compileBaselineOnly()
  if (dataDir.startsWith('memory://')) return PGlite.create(dataDir, { startParams: START_PARAMS })
  try {
    await mkdir(dataDir, { recursive: true })
    if (!existsSync(join(dataDir, 'PG_VERSION'))) {
      const wasEmpty = (await readdir(dataDir)).length === 0
      try {
        await initialiseInChild(dataDir)
      }
      catch (error) {
        // A half-made database (initdb stopped by a full disk) would be taken for a real one next time.
        if (wasEmpty) await Promise.all((await readdir(dataDir)).map(name => rm(join(dataDir, name), { recursive: true, force: true })))
        throw error
      }
    }
    return await PGlite.create(dataDir, { startParams: START_PARAMS })
  }
  catch (error) {
    const why = await diagnose(dataDir).catch(() => undefined)
    if (!why) throw error
    throw new Error(`cannot open the embedded database in ${dataDir}: ${why}`, { cause: error })
  }
}
