/**
 * Runs inside the network namespace tests/integration/support/netns.ts makes (only `lo`, with a
 * multicast route): starts built NodePulse servers and agents there and makes HTTP requests for the test,
 * which cannot reach into the namespace. One JSON request per stdin line, one JSON answer per
 * stdout line ({id, ok, ...} or {id, ok: false, error}). When stdin closes it stops its servers
 * and exits (the PID namespace then takes anything left with it).
 */
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { networkInterfaces } from 'node:os'
import { createInterface } from 'node:readline'

const [entry, agentBundle] = process.argv.slice(2)
const servers = new Map()

const freePort = () => new Promise((resolve, reject) => {
  const probe = createServer()
  probe.on('error', reject)
  probe.listen(0, '127.0.0.1', () => {
    const { port } = probe.address()
    probe.close(() => resolve(port))
  })
})

async function start({ name, env }) {
  const port = await freePort()
  const baseURL = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, [entry], { env: { PATH: process.env.PATH, NODE_ENV: 'production', HOST: '127.0.0.1', PORT: String(port), ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const server = { child, output: '' }
  const keep = chunk => (server.output = (server.output + chunk).slice(-6000))
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  servers.set(name, server)
  const deadline = Date.now() + 80_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}):\n${server.output}`)
    if (await fetch(`${baseURL}/api/health`, { signal: AbortSignal.timeout(2000) }).then(r => r.ok, () => false)) return { baseURL }
    await new Promise(r => setTimeout(r, 200))
  }
  throw new Error(`${name} did not answer /api/health within 80 s:\n${server.output}`)
}

/** Starts the built agent (`node nodepulse-agent.mjs agent …args`) under `name`; resolves once it runs. */
async function agent({ name, args, env }) {
  const child = spawn(process.execPath, [agentBundle, 'agent', ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME ?? '/root', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const server = { child, output: '' }
  const keep = chunk => (server.output = (server.output + chunk).slice(-6000))
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  servers.set(name, server)
  await new Promise(r => setTimeout(r, 500))
  if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}):\n${server.output}`)
  return {}
}

async function stop({ name }) {
  const server = servers.get(name)
  servers.delete(name)
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return {}
  const ended = new Promise(r => server.child.once('exit', r))
  server.child.kill('SIGTERM')
  const killer = setTimeout(() => server.child.kill('SIGKILL'), 10_000)
  await ended
  clearTimeout(killer)
  return { output: server.output }
}

async function request({ url, method = 'GET', headers = {}, body }) {
  const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(15_000) })
  return { status: res.status, setCookie: res.headers.getSetCookie(), text: await res.text() }
}

const ops = {
  start,
  agent,
  stop,
  request,
  interfaces: async () => ({ names: Object.keys(networkInterfaces()) }),
  output: async ({ name }) => ({ output: servers.get(name)?.output ?? '' }),
}

const reply = message => process.stdout.write(`${JSON.stringify(message)}\n`)
const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  const { id, op, ...args } = JSON.parse(line)
  ops[op](args).then(result => reply({ id, ok: true, ...result }), error => reply({ id, ok: false, error: String(error?.stack ?? error) }))
})
lines.on('close', async () => {
  await Promise.all([...servers.keys()].map(name => stop({ name })))
  process.exit(0)
})
