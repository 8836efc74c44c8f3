// Shared bench helpers: start the built server on a fresh embedded database and read its /proc figures.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const ADMIN = { username: 'admin', password: 'bench-admin-password' }

export async function freePort() {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/**
 * Starts a built server (`entry`, .output/server/index.mjs by default: build it first) and resolves once /api/health answers. The
 * embedded database lives in a fresh temporary directory removed at stop, or in `dataDir`, kept.
 */
export async function startServer(env = {}, { dataDir: keptDir, entry = '.output/server/index.mjs' } = {}) {
  const port = await freePort()
  const dataDir = keptDir ?? mkdtempSync(join(tmpdir(), 'nodepulse-bench-'))
  const base = `http://127.0.0.1:${port}`
  let child
  const spawnServer = async () => {
    child = spawn(process.execPath, [...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), entry], {
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', NODEPULSE_DATA_DIR: dataDir, NODEPULSE_ADMIN_PASSWORD: ADMIN.password, ...env },
      stdio: ['ignore', process.env.BENCH_SERVER_LOG ? 'inherit' : 'ignore', 'inherit'],
    })
    for (let i = 0; i < 300; i++) {
      try {
        if ((await fetch(`${base}/api/health`)).ok) break
      }
      catch {
        // not listening yet
      }
      await new Promise(r => setTimeout(r, 100))
    }
  }
  const halt = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    await new Promise(r => child.once('exit', r))
  }
  await spawnServer()
  return {
    base,
    get pid() {
      return child.pid
    },
    /** Stops the server; a temporary data directory goes with it, a kept one stays for `start()`. */
    async stop() {
      await halt()
      if (!keptDir) rmSync(dataDir, { recursive: true, force: true })
    },
    /** Starts it again on the same port and data directory (after `stop()` with a kept `dataDir`). */
    async start() {
      await halt()
      await spawnServer()
    },
  }
}

/** An admin API token for the bench's own requests. */
export async function adminToken(base) {
  const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) })
  const cookie = login.headers.get('set-cookie').split(';')[0]
  const res = await fetch(`${base}/api/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', cookie, origin: base }, body: JSON.stringify({ name: 'bench', role: 'admin' }) })
  return (await res.json()).token
}

/**
 * A new, empty database named `<prefix>_<time>` on the PostgreSQL server of `adminUrl` (never the
 * database others' tests use): its URL, the pids of the backends serving it, and `drop()`.
 */
export async function freshDatabase(adminUrl, prefix) {
  const { default: postgres } = await import('postgres')
  const name = `${prefix}_${Date.now()}`
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    /** The server processes serving this database now (for their CPU, from /proc). */
    backendPids: async () => (await admin`select pid from pg_stat_activity where datname = ${name}`).map(r => r.pid),
    async drop() {
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end()
    },
  }
}

/** Adds `count` agent nodes named `<prefix>-<i>` through the API: their ids and agent tokens. */
export async function createAgents(base, adminBearer, count, prefix) {
  const agents = []
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${base}/api/v1/nodes`, { method: 'POST', headers: { authorization: `Bearer ${adminBearer}`, 'content-type': 'application/json' }, body: JSON.stringify({ hostname: `${prefix}-${i}` }) })
    if (!res.ok) throw new Error(`adding node ${prefix}-${i}: HTTP ${res.status} ${await res.text()}`)
    const { id, token } = await res.json()
    agents.push({ id, token })
  }
  return agents
}

/** Resident memory (MiB) and total CPU seconds of a process, from /proc. */
export function procStats(pid) {
  if (!existsSync(`/proc/${pid}`)) return { rss: 0, cpuSeconds: 0 }
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / 100
  return { rss, cpuSeconds }
}

export function percentile(sorted, p) {
  if (!sorted.length) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

/**
 * Transpiles a TypeScript module (and its relative imports; packages stay external) with esbuild into
 * `outDir`, so plain .mjs benches can import server code in-process without building the server.
 * Returns the path of the emitted .mjs file.
 */
export async function transpileTs(entry, outDir) {
  const { build } = await import('esbuild')
  const outfile = join(outDir, `${entry.replace(/[^\w.-]+/g, '_').replace(/\.ts$/, '')}.mjs`)
  await build({ entryPoints: [entry], outfile, bundle: true, packages: 'external', platform: 'node', format: 'esm', target: 'node20', tsconfigRaw: {}, logLevel: 'warning' })
  return outfile
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes on one machine. */
export const wallNow = () => performance.timeOrigin + performance.now()

/** A figure that moves with step `i` and node `n` (cheap, deterministic), as an SQL expression. */
export const wave = (scale, k) => `(${scale} * (0.5 + 0.45 * sin(i * ${0.003 * k} + n * ${0.7 * k})))`

/**
 * SQL writing the rollup rows of tier `width` (s) for the buckets in [from, to) (unix s) of the
 * nodes `nodes` (a set-returning SQL expression such as `generate_series(1, 100)`), every one of
 * `metrics` filled as the rollups would leave it; existing rows are kept.
 */
export function rollupRowsSql({ metrics, width, from, to, nodes, samplesPerBucket }) {
  const cols = metrics.flatMap(m => [`${m}_avg`, `${m}_min`, `${m}_max`, `${m}_last`, `${m}_n`])
  const values = metrics.flatMap((_, k) => [wave(100, k + 1), `${wave(100, k + 1)} * 0.8`, `${wave(100, k + 1)} * 1.2`, wave(100, k + 1), `${samplesPerBucket}`])
  return `insert into history_rollups (width_seconds, node_id, bucket, samples, ${cols.join(', ')})
    select ${width}, n, to_timestamp(b), ${samplesPerBucket}, ${values.join(', ')}
    from generate_series(${from}, ${to - 1}, ${width}) b, lateral (select (b / ${width}) as i) x, ${nodes} n
    on conflict do nothing`
}

/**
 * Debian's Chromium (CHROMIUM_PATH) with a page logged in as the bench admin on `base`: `instrument`
 * runs in the page before its scripts, and `consoleLines` collects its errors and warnings.
 */
export async function openLoggedIn(base, viewport, instrument) {
  const { chromium } = await import('@playwright/test')
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  })
  const context = await browser.newContext({ baseURL: base, viewport })
  await context.addInitScript(instrument)
  const page = await context.newPage()
  const consoleLines = []
  page.on('console', m => ['error', 'warning'].includes(m.type()) && consoleLines.push(`${m.type()}: ${m.text()}`))
  page.on('pageerror', e => consoleLines.push(`pageerror: ${e.message}`))
  // page.request shares the context's cookie jar; login is not a cookie-authenticated write, so no Origin is needed.
  const login = await page.request.post('/api/v1/auth/login', { data: ADMIN })
  if (!login.ok()) throw new Error(`login: HTTP ${login.status()}`)
  return { browser, page, consoleLines }
}
