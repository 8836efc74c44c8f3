/**
 * A real Redis cluster for the Valkey tests: Debian's redis-server 7 (the same cluster protocol as
 * Valkey), 3 masters and 3 replicas on loopback, with a password, no persistence, and short timeouts
 * so a failover takes seconds. Each node is a child process of the test, so stopping kills exactly
 * them; they are also killed when the test process exits, whatever way it ends.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface RedisCluster {
  password: string
  ports: number[]
  /** `redis-cli` against one node (with the password); returns its stdout. */
  cli: (port: number, ...args: string[]) => string
  /** Kills one node at once (SIGKILL, as a crash). */
  kill: (port: number) => Promise<void>
  stop: () => Promise<void>
}

const alive = new Set<ChildProcess>()
process.once('exit', () => alive.forEach(c => c.kill('SIGKILL')))

const portOpen = (port: number) => new Promise<boolean>((done) => {
  const socket = createConnection({ host: '127.0.0.1', port })
  socket.once('connect', () => (socket.destroy(), done(true)))
  socket.once('error', () => done(false))
})

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise(r => setTimeout(r, 100))
  }
}

/** Starts six nodes on `basePort`…`basePort + 5` (bus ports +10000) and joins them into a cluster. */
export async function startRedisCluster(basePort: number, password = 'np-test-pw'): Promise<RedisCluster> {
  const ports = Array.from({ length: 6 }, (_, i) => basePort + i)
  for (const port of [...ports, ...ports.map(p => p + 10_000)]) {
    if (await portOpen(port)) throw new Error(`port ${port} is in use: the Valkey test cluster needs ${basePort}-${basePort + 5} and their bus ports free`)
  }
  const dir = mkdtempSync(join(tmpdir(), 'nodepulse-redis-'))
  const children = new Map<number, ChildProcess>()
  const cli = (port: number, ...args: string[]) => {
    const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '-a', password, '--no-auth-warning', ...args], { encoding: 'utf8', timeout: 30_000 })
    if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')} failed: ${r.stderr || r.stdout}`)
    return r.stdout
  }
  const stop = async () => {
    await Promise.all([...children.values()].map(c => new Promise<void>((done) => {
      if (c.exitCode !== null || c.signalCode !== null) return done()
      c.once('exit', () => done())
      c.kill('SIGKILL')
    })))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (const port of ports) {
      const child = spawn('redis-server', [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', `dump-${port}.rdb`,
        '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-announce-ip', '127.0.0.1',
        '--cluster-node-timeout', '1000', '--cluster-replica-validity-factor', '0',
        '--requirepass', password, '--masterauth', password, '--save', '', '--appendonly', 'no', '--logfile', '',
      ], { stdio: 'ignore' })
      children.set(port, child)
      alive.add(child)
      child.once('exit', () => alive.delete(child))
    }
    await waitFor('the redis nodes to listen', async () => (await Promise.all(ports.map(portOpen))).every(Boolean), 15_000)
    cli(ports[0]!, '--cluster', 'create', ...ports.map(p => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes')
    await waitFor('the cluster to be ok on every node', () => ports.every(p => /cluster_state:ok/.test(cli(p, 'cluster', 'info'))
      && cli(p, 'cluster', 'nodes').trim().split('\n').length === 6), 30_000)
    // Replicas' first sync forks a background save on their master: wait until it is over, so a
    // test sees the settled cluster (no save in progress: active_backups 0) rather than that moment.
    await waitFor('the replicas to be in sync and no background save to run', () => ports.every((p) => {
      const info = cli(p, 'info', 'all')
      return /rdb_bgsave_in_progress:0/.test(info) && /aof_rewrite_in_progress:0/.test(info)
        && (!/role:slave/.test(info) || (/master_link_status:up/.test(info) && /master_sync_in_progress:0/.test(info)))
    }), 30_000)
  }
  catch (error) {
    await stop()
    throw error
  }
  return {
    password, ports, cli, stop,
    async kill(port) {
      const child = children.get(port)
      if (!child || child.exitCode !== null || child.signalCode !== null) return
      await new Promise<void>((done) => {
        child.once('exit', () => done())
        child.kill('SIGKILL')
      })
    },
  }
}
