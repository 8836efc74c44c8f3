/**
 * Runs the BUILT agent (dist/agent/nodepulse-agent.mjs, built by `nuxi build`) as a real process,
 * and a small forwarding proxy that records every report the server answered, so a test can
 * count what was produced and what was stored. Every process started here is killed by `killAgents`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'

export const AGENT_BUNDLE = fileURLToPath(new URL('../../../dist/agent/nodepulse-agent.mjs', import.meta.url))

export interface AgentProcess {
  child: ChildProcess
  /** stdout and stderr so far. */
  output: () => string
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>
  /** Waits until the output contains `text`. */
  waitFor: (text: string | RegExp, ms?: number) => Promise<void>
  /** SIGTERM (graceful) and wait; SIGKILL after 10 s. */
  stop: () => Promise<number | string>
  /** SIGKILL, as a crash or power cut would: nothing is flushed. */
  kill: () => Promise<number | string>
}

const running = new Set<AgentProcess>()

/** Starts `node dist/agent/nodepulse-agent.mjs agent …args` with only `env` (plus PATH and HOME). */
export function startAgent(args: string[], env: Record<string, string> = {}, opts: { cwd?: string, file?: string, stdin?: string } = {}): AgentProcess {
  const file = opts.file ?? AGENT_BUNDLE
  if (!existsSync(file)) throw new Error(`${file} is missing: build first (npx nuxi build builds the agent too)`)
  const child = spawn(process.execPath, [file, 'agent', ...args], {
    cwd: opts.cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  })
  if (opts.stdin !== undefined) child.stdin!.end(opts.stdin)
  let out = ''
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()))
  const exited = new Promise<number | string>(resolve => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')))
  const agent: AgentProcess = {
    child,
    output: () => out,
    exited,
    async waitFor(text, ms = 20_000) {
      const end = Date.now() + ms
      const has = () => (typeof text === 'string' ? out.includes(text) : text.test(out))
      while (!has()) {
        if (Date.now() > end) throw new Error(`the agent did not log ${String(text)} within ${ms} ms; it logged:\n${out}`)
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the agent exited (${child.exitCode ?? child.signalCode}) before logging ${String(text)}:\n${out}`)
        await new Promise(r => setTimeout(r, 50))
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(killer)
      }
      return exited
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      return exited
    },
  }
  running.add(agent)
  void exited.then(() => running.delete(agent))
  return agent
}

/** Kills every agent still running (afterEach: also when a test failed). */
export async function killAgents(): Promise<void> {
  await Promise.all([...running].map(a => a.kill()))
}

/** Runs the agent to its end (e.g. --once) and returns its exit code and output. */
export async function runAgent(args: string[], env: Record<string, string> = {}, opts: { cwd?: string, file?: string, stdin?: string } = {}): Promise<{ code: number | string, output: string }> {
  const agent = startAgent(args, env, opts)
  const killer = setTimeout(() => agent.child.kill('SIGKILL'), 30_000)
  const code = await agent.exited
  clearTimeout(killer)
  return { code, output: agent.output() }
}

export interface Recorded { path: string, status: number, timestamps: string[], stored: number, duplicates: number }

export interface RecordingProxy {
  url: string
  /** Every stats report the server answered 200, in order. */
  reports: Recorded[]
  /** Every event the server accepted (201). */
  events: unknown[]
  close: () => Promise<void>
}

/**
 * Forwards every request to `target` and records each stats answer. While the target is down a
 * request's connection is cut, as the agent would see it without the proxy.
 */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const reports: Recorded[] = []
  const events: unknown[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const upstream = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
        const back: Buffer[] = []
        up.on('data', (c: Buffer) => back.push(c))
        up.on('end', () => {
          const answer = Buffer.concat(back)
          try {
            if (up.statusCode === 200 && req.url?.endsWith('/stats')) {
              const sent = JSON.parse(body.toString()) as { samples?: { timestamp: string }[], timestamp?: string }
              const got = JSON.parse(answer.toString()) as { stored: number, duplicates: number }
              reports.push({ path: req.url, status: 200, timestamps: sent.samples ? sent.samples.map(s => s.timestamp) : [sent.timestamp!], stored: got.stored, duplicates: got.duplicates })
            }
            if (up.statusCode === 201 && req.url?.endsWith('/events')) events.push(JSON.parse(body.toString()))
          }
          catch {
            // not a body we record
          }
          res.writeHead(up.statusCode ?? 502, up.headers)
          res.end(answer)
        })
      })
      upstream.on('error', () => req.socket.destroy())
      upstream.end(body)
    })
  })
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    reports,
    events,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections()
      server.close(() => r())
    }),
  }
}
