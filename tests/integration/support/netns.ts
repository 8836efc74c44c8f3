/**
 * A network namespace of the test's own, for mDNS: `unshare --net` (plus a PID namespace, so every
 * process started in it dies with it) with only `lo`, up with multicast and a route for
 * 224.0.0.0/4, as DESIGN.md's mDNS section says. Nothing in it can send a packet on the machine's
 * real interfaces. The test drives it through netnsRunner.mjs over stdio, since nothing outside
 * the namespace can reach a server inside it.
 */
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { AGENT_BUNDLE } from './agent'
import { SERVER_ENTRY } from './server'

const RUNNER = fileURLToPath(new URL('./netnsRunner.mjs', import.meta.url))
const SETUP = 'ip link set dev lo up multicast on && ip route add 224.0.0.0/4 dev lo'

/** Why no namespace can be made here (null when one can): the tests skip with this message. */
export function netnsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'mDNS tests need root to make a network namespace (unshare --net); CI runs them as root'
  const probe = spawnSync('unshare', ['--net', '--pid', '--fork', '--kill-child', 'sh', '-c', SETUP], { encoding: 'utf8', timeout: 10_000 })
  if (probe.error || probe.status !== 0) return `mDNS tests skipped: cannot make a network namespace here (${(probe.error?.message ?? probe.stderr).trim() || `exit ${probe.status}`})`
  return null
}

export interface NetnsReply { status: number, setCookie: string[], text: string }

export interface Netns {
  /** Starts the built server inside the namespace under `name`; resolves with its URL there. */
  start: (name: string, env: Record<string, string>) => Promise<{ baseURL: string }>
  /** Starts the built agent inside the namespace under `name` (`nodepulse agent …args`). */
  agent: (name: string, args: string[], env?: Record<string, string>) => Promise<void>
  /** Stops one server or agent; resolves with its output. */
  stop: (name: string) => Promise<string>
  /** An HTTP request made from inside the namespace. */
  request: (url: string, init?: { method?: string, headers?: Record<string, string>, body?: string }) => Promise<NetnsReply>
  /** The network interfaces the namespace has. */
  interfaces: () => Promise<string[]>
  output: (name: string) => Promise<string>
  /** Stops every server and leaves the namespace. */
  close: () => Promise<void>
}

/** Makes the namespace and starts the runner in it. */
export function openNetns(): Netns {
  const child = spawn('unshare', ['--net', '--pid', '--fork', '--kill-child', 'sh', '-c', `${SETUP} && exec "$0" "$1" "$2" "$3"`, process.execPath, RUNNER, SERVER_ENTRY, AGENT_BUNDLE], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const waiting = new Map<number, { resolve: (v: Record<string, unknown>) => void, reject: (e: Error) => void }>()
  let next = 0
  let buffered = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk
    let newline
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const message = JSON.parse(buffered.slice(0, newline)) as { id: number, ok: boolean, error?: string }
      buffered = buffered.slice(newline + 1)
      const w = waiting.get(message.id)
      waiting.delete(message.id)
      if (message.ok) w?.resolve(message)
      else w?.reject(new Error(message.error))
    }
  })
  const exited = new Promise<void>(resolve => child.once('exit', () => {
    for (const w of waiting.values()) w.reject(new Error('the namespace runner exited'))
    resolve()
  }))
  const call = <T>(op: string, args: Record<string, unknown>) => new Promise<T>((resolve, reject) => {
    const id = next++
    waiting.set(id, { resolve: v => resolve(v as T), reject })
    child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`)
  })
  return {
    start: (name, env) => call('start', { name, env }),
    agent: async (name, args, env = {}) => {
      await call('agent', { name, args, env })
    },
    stop: async name => (await call<{ output?: string }>('stop', { name })).output ?? '',
    request: (url, init = {}) => call('request', { url, ...init }),
    interfaces: async () => (await call<{ names: string[] }>('interfaces', {})).names,
    output: async name => (await call<{ output: string }>('output', { name })).output,
    async close() {
      child.stdin!.end()
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000)
      await exited
      clearTimeout(killer)
    },
  }
}
