/**
 * A PostgreSQL server of a test's own, in a temporary directory on a free loopback port, that the
 * test may stop and start at will. The machine's shared PostgreSQL (127.0.0.1:5432) is never
 * touched. Postgres refuses to run as root, so as root the cluster belongs to the `postgres` user.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../integration/support/server'

export interface PrivatePostgres {
  url: string
  port: number
  /** Stops the server (`mode` as pg_ctl's -m: fast ends sessions, immediate is a crash). */
  stop: (mode?: 'fast' | 'immediate') => void
  /** Starts it again on the same port and data; returns once it accepts connections. */
  start: () => void
  /** The server's log so far. */
  log: () => string
  /** Stops it if running and removes its directory. Safe to call twice. */
  remove: () => void
}

/** The newest installed PostgreSQL's bin directory, or undefined when there is none. */
export function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const version = readdirSync(root).filter(v => existsSync(join(root, v, 'bin', 'pg_ctl'))).sort((a, b) => Number(a) - Number(b)).at(-1)
  return version ? join(root, version, 'bin') : undefined
}

/** Creates and starts a private cluster (trust auth, user postgres, loopback only). */
export async function startPrivatePostgres(bin: string): Promise<PrivatePostgres> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'np-faults-pg-'))
  const data = join(dir, 'data')
  const logFile = join(dir, 'log')
  const asRoot = userInfo().uid === 0
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim())
    chownSync(dir, uid, gid)
    chmodSync(dir, 0o700)
  }
  // As root, each command runs as postgres; runuser keeps no shell in between.
  const run = (cmd: string, args: string[]) => execFileSync(asRoot ? 'runuser' : join(bin, cmd), asRoot ? ['-u', 'postgres', '--', join(bin, cmd), ...args] : args, { stdio: 'pipe', timeout: 60_000 })
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c max_connections=60`
  let running = false
  const pg: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop(mode = 'fast') {
      if (!running) return
      run('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '30', 'stop'])
      running = false
    },
    start() {
      run('pg_ctl', ['-D', data, '-l', logFile, '-o', options, '-w', '-t', '60', 'start'])
      running = true
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    remove() {
      try {
        pg.stop('immediate')
      }
      catch {
        // already gone: the directory goes anyway
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
  try {
    run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'])
    pg.start()
  }
  catch (error) {
    pg.remove()
    throw error
  }
  return pg
}
