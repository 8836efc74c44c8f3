/**
 * Starts and stops the built NodePulse server (`.output/server/index.mjs`) for the integration
 * projects. One server serves a whole project; each gets its own fresh database.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'

export const SERVER_ENTRY = fileURLToPath(new URL('../../../.output/server/index.mjs', import.meta.url))

/** Settings the test server runs with; tests read them back through `inject('server')`. */
export interface TestServerInfo {
  baseURL: string
  driver: 'pglite' | 'postgres'
  adminUser: string
  adminPassword: string
  masterHostname: string
  loginMaxAttempts: number
  streamTokenTtl: number
}

export interface RunningServer {
  info: TestServerInfo
  stop: () => Promise<void>
}

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer()
    probe.unref()
    probe.on('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))))
    })
  })
}

/** The environment without settings a developer's shell could leak into the server under test. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(NODEPULSE_|NUXT_|NITRO_)/.test(key) || key === 'DATABASE_URL' || key === 'PORT' || key === 'HOST') continue
    env[key] = value
  }
  return env
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise(done => (child.exitCode !== null || child.signalCode !== null ? done() : child.once('exit', () => done())))
}

/**
 * Runs the built server on a random port with a fresh data directory (and `databaseUrl` when
 * given) and waits until /api/health answers 200. Throws with the server's output if it does not.
 */
export async function startServer(opts: { databaseUrl?: string, label: string, env?: Record<string, string> }): Promise<RunningServer> {
  if (!existsSync(SERVER_ENTRY)) {
    throw new Error(`${SERVER_ENTRY} is missing: build the app first (npx nuxi build, or run npm test which builds it)`)
  }
  const dataDir = mkdtempSync(join(tmpdir(), `nodepulse-it-${opts.label}-`))
  const port = await freePort()
  const info: TestServerInfo = {
    baseURL: `http://127.0.0.1:${port}`,
    driver: opts.databaseUrl ? 'postgres' : 'pglite',
    adminUser: 'admin',
    adminPassword: `admin-${randomBytes(8).toString('hex')}`,
    masterHostname: `it-master-${opts.label}`,
    loginMaxAttempts: 5,
    streamTokenTtl: 5,
  }
  const env: NodeJS.ProcessEnv = {
    ...cleanEnv(),
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    NODEPULSE_DATA_DIR: join(dataDir, 'db'),
    NODEPULSE_ADMIN_USER: info.adminUser,
    NODEPULSE_ADMIN_PASSWORD: info.adminPassword,
    NODEPULSE_HOSTNAME: info.masterHostname,
    NODEPULSE_LOGIN_MAX_ATTEMPTS: String(info.loginMaxAttempts),
    NODEPULSE_STREAM_TOKEN_TTL: String(info.streamTokenTtl),
    NODEPULSE_SAMPLE_INTERVAL: '1',
    ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : {}),
    ...opts.env,
  }
  // Spawned directly (no shell), so child.pid is the server itself and stop() ends exactly it.
  const child = spawn(process.execPath, [SERVER_ENTRY], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-20_000)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited(child)
      clearTimeout(killer)
    }
    rmSync(dataDir, { recursive: true, force: true })
  }

  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop()
      throw new Error(`The ${opts.label} test server exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`)
    }
    try {
      const res = await fetch(`${info.baseURL}/api/health`, { signal: AbortSignal.timeout(2000) })
      if (res.status === 200) return { info, stop }
    }
    catch {
      // not listening yet
    }
    await new Promise(r => setTimeout(r, 150))
  }
  await stop()
  throw new Error(`The ${opts.label} test server did not answer /api/health within 60 s:\n${output}`)
}

declare module 'vitest' {
  export interface ProvidedContext {
    server: TestServerInfo
  }
}
