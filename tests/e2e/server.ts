import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { freePort, SERVER_ENTRY } from '../integration/support/server'
import { E2E_ADMIN } from '../../playwright.config'

/** A NodePulse server of a spec's own, which it may stop and start again (same port, data and secrets). */
export interface OwnServer {
  baseURL: string
  /** Stops it (SIGTERM, as an operator would) and waits for the process to end. */
  stop: () => Promise<void>
  /** Starts it again (with these settings changed, if given) and waits until /api/health answers. */
  start: (changed?: Record<string, string>) => Promise<void>
  /** Stops it for good and deletes its data. */
  dispose: () => Promise<void>
}

async function healthy(baseURL: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`The spec's server exited (${child.exitCode}):\n${output()}`)
    const ok = await fetch(`${baseURL}/api/health`, { signal: AbortSignal.timeout(2000) }).then(r => r.ok, () => false)
    if (ok) return
    await new Promise(resolve => setTimeout(resolve, 150))
  }
  throw new Error(`The spec's server did not answer /api/health within 60 s:\n${output()}`)
}

/** Runs the built server on a free port with a fresh data directory and the e2e admin. */
export async function startOwnServer(env: Record<string, string> = {}): Promise<OwnServer> {
  const port = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), 'nodepulse-e2e-own-'))
  const baseURL = `http://127.0.0.1:${port}`
  const fullEnv = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    NODEPULSE_DATA_DIR: dataDir,
    NODEPULSE_ADMIN_USER: E2E_ADMIN.username,
    NODEPULSE_ADMIN_PASSWORD: E2E_ADMIN.password,
    // Fixed, so sessions outlive a restart.
    NODEPULSE_SESSION_SECRET: randomBytes(32).toString('hex'),
    NODEPULSE_SAMPLE_INTERVAL: '1',
    ...env,
  }
  let child: ChildProcess | null = null
  let output = ''

  const start = async (changed: Record<string, string> = {}) => {
    Object.assign(fullEnv, changed)
    // Spawned directly (no shell): child.pid is the server itself, and stop() ends exactly it.
    const started = spawn(process.execPath, [SERVER_ENTRY], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    started.stdout!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-10_000)))
    started.stderr!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-10_000)))
    child = started
    await healthy(baseURL, started, () => output)
  }
  const stop = async () => {
    const running = child
    child = null
    if (!running || running.exitCode !== null || running.signalCode !== null) return
    const ended = new Promise(resolve => running.once('exit', resolve))
    running.kill('SIGTERM')
    const killer = setTimeout(() => running.kill('SIGKILL'), 10_000)
    await ended
    clearTimeout(killer)
  }

  await start()
  return {
    baseURL,
    stop,
    start,
    dispose: async () => {
      await stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
