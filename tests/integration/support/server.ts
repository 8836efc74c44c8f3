/**
 * Starts and stops the built NodePulse server (`.output/server/index.mjs`) for the integration
 * projects. One server serves a whole project; each gets its own fresh database.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { SERVER_ENV, SERVER_NODE_ARGS } from '../../../scripts/server-settings.mjs'

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
  /** The server process's id right now (it changes on restart), e.g. to read /proc/<pid>/status. */
  readonly pid: number
  /** The server's recent stdout and stderr (last 20,000 characters). */
  output: () => string
  /** Stops the server (SIGTERM) and removes its data directory unless `keepData` was given. */
  stop: () => Promise<void>
  /** Kills the server at once (SIGKILL, as a crash would: nothing is released gracefully), then cleans up like `stop`. */
  kill: () => Promise<void>
  /**
   * Stops the server gracefully (SIGTERM, as an operator would) and starts it again on the same
   * port with the same data directory, database and settings; resolves once /api/health answers.
   * `whileDown` runs while the server is stopped (an outage of any length, e.g. for agents' spools).
   */
  restart: (whileDown?: () => Promise<void>) => Promise<void>
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
    if (/^(NODEPULSE_|NUXT_|NITRO_|VALKEY_)/.test(key) || key === 'DATABASE_URL' || key === 'PORT' || key === 'HOST') continue
    env[key] = value
  }
  return env
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise(done => (child.exitCode !== null || child.signalCode !== null ? done() : child.once('exit', () => done())))
}

export interface StartOptions {
  label: string
  databaseUrl?: string
  env?: Record<string, string>
  /** Use this data directory (created if missing) instead of a fresh temporary one; it is never removed. */
  dataDir?: string
  /** Keep the (temporary) data directory when the server stops. */
  keepData?: boolean
}

/**
 * Runs the built server on a random port with a fresh data directory (and `databaseUrl` when
 * given) and waits until /api/health answers 200. Throws with the server's output if it does not.
 */
export async function startServer(opts: StartOptions): Promise<RunningServer> {
  if (!existsSync(SERVER_ENTRY)) {
    throw new Error(`${SERVER_ENTRY} is missing: build the app first (npx nuxi build, or run npm test which builds it)`)
  }
  const ownDir = opts.dataDir === undefined
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), `nodepulse-it-${opts.label}-`))
  mkdirSync(dataDir, { recursive: true })
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
    // As `npm start` runs it (young generation and malloc arenas; scripts/server-settings.mjs).
    ...SERVER_ENV,
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
  let output = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-20_000)
  }
  let child: ChildProcess

  // Spawned directly (no shell), so child.pid is the server itself and stop() ends exactly it.
  const spawnServer = () => {
    child = spawn(process.execPath, [...SERVER_NODE_ARGS, SERVER_ENTRY], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout!.on('data', keep)
    child.stderr!.on('data', keep)
  }

  const halt = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited(child)
      clearTimeout(killer)
    }
  }
  const cleanUp = () => {
    if (ownDir && !opts.keepData) rmSync(dataDir, { recursive: true, force: true })
  }
  const stop = async () => {
    await halt()
    cleanUp()
  }
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited(child)
    }
    cleanUp()
  }

  const ready = async () => {
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        const code = child.exitCode ?? child.signalCode
        await stop()
        throw new Error(`The ${opts.label} test server exited (${code}) before it was ready:\n${output}`)
      }
      try {
        const res = await fetch(`${info.baseURL}/api/health`, { signal: AbortSignal.timeout(2000) })
        if (res.status === 200) return
      }
      catch {
        // not listening yet
      }
      await new Promise(r => setTimeout(r, 150))
    }
    await stop()
    throw new Error(`The ${opts.label} test server did not answer /api/health within 60 s:\n${output}`)
  }

  spawnServer()
  await ready()
  return {
    info,
    get pid() {
      return child.pid!
    },
    output: () => output,
    stop,
    kill,
    async restart(whileDown) {
      await halt()
      await whileDown?.()
      spawnServer()
      await ready()
    },
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    server: TestServerInfo
  }
}
