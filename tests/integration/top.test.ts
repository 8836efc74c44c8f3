/**
 * `nodepulse top` from the BUILT bundle (dist/agent/nodepulse-agent.mjs) against the test server:
 * --json lines, plain tables when stdout is a pipe, the live view in a pseudo-terminal (script(1)),
 * a refused token (exit 2), a server that is not there (keeps retrying), bad settings (exit 1).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, onTestFinished } from 'vitest'
import type { NodeStatsSnapshot, StreamConnected } from '../../shared/contracts/seed000'
import { createAgent, createApiToken, report, sample, server, unique } from './helpers'
import { AGENT_BUNDLE } from './support/agent'

interface Top { child: ChildProcess, out: () => string, err: () => string, exited: Promise<number | string> }
const running = new Set<Top>()

/** Starts `node bundle top …args` with only `env` (plus PATH and HOME); `command` wraps it (script(1)). */
function startTop(args: string[], env: Record<string, string>, command?: (argv: string[]) => [string, string[]]): Top {
  const argv = [process.execPath, AGENT_BUNDLE, 'top', ...args]
  const [file, rest] = command ? command(argv) : [argv[0]!, argv.slice(1)]
  const child = spawn(file, rest, { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()))
  const exited = new Promise<number | string>(resolve => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')))
  const top = { child, out: () => out, err: () => err, exited }
  running.add(top)
  void exited.then(() => running.delete(top))
  return top
}

async function until(top: Top, check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`top did not ${what} within ${ms} ms\n--- stdout ---\n${top.out()}\n--- stderr ---\n${top.err()}`)
    await new Promise(r => setTimeout(r, 50))
  }
}

async function stop(top: Top): Promise<number | string> {
  top.child.kill('SIGTERM')
  return top.exited
}

afterEach(async () => {
  for (const t of running) t.child.kill('SIGKILL')
  await Promise.all([...running].map(t => t.exited))
})

/** A viewer token and a node that has reported `cpu_percent` 42.5. */
/** A viewer token and a node that has reported; `hostname` to place it (the suite's server holds many nodes). */
async function fixture(hostname?: string) {
  const viewer = await createApiToken('viewer')
  const node = await createAgent(hostname)
  expect((await report(node.id, node.token, { json: sample(0, { cpu_percent: 42.5, memory_percent: 61.2, disk_percent: 17 }) })).status).toBe(200)
  return { env: { NODEPULSE_TOKEN: viewer.token }, node, agentToken: node.token }
}

describe('nodepulse top', () => {
  it('--json prints each stream message as one JSON line: connected, then snapshots with the node', async () => {
    const { env, node } = await fixture()
    const top = startTop(['--server', server.baseURL, '--json', '--interval', '1'], env)
    const lines = () => top.out().split('\n').filter(Boolean)
    await until(top, () => lines().length >= 3, 'print three lines')
    const [connected, ...snapshots] = lines().map(l => JSON.parse(l) as unknown)
    expect(connected).toMatchObject({ event: 'connected', interval: 1 } satisfies Partial<StreamConnected>)
    for (const s of snapshots as NodeStatsSnapshot[]) {
      expect(typeof s.timestamp).toBe('string')
      expect(s.nodes.find(n => n.id === node.id)).toMatchObject({ hostname: node.hostname, status: 'online', cpu_percent: 42.5 })
    }
    expect(top.out()).not.toContain('\u001B')
    expect(await stop(top)).toBe(0)
    expect(top.err()).toBe('')
  })

  it('prints plain tables, one per update and no escape codes, when stdout is not a terminal (token from --token-file)', async () => {
    const { env, node } = await fixture()
    const dir = mkdtempSync(join(tmpdir(), 'np-top-'))
    const tokenFile = join(dir, 'token')
    writeFileSync(tokenFile, `${env.NODEPULSE_TOKEN}\n`, { mode: 0o600 })
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    const top = startTop(['--server', server.baseURL, '--interval', '1', '--sort', 'cpu', '--token-file', tokenFile], { COLUMNS: '80' })
    const tables = () => top.out().split('\n\n').filter(t => t.startsWith('nodepulse top'))
    await until(top, () => tables().length >= 2, 'print two tables')
    const table = tables()[0]!.split('\n')
    expect(table[0]).toBe(`nodepulse top  ${server.baseURL}  ${table[0]!.slice(-12)}`)
    expect(table[0]).toMatch(/\d\d:\d\d:\d\d UTC$/)
    expect(table[1]).toMatch(/^\d+ nodes: \d+ online, \d+ unreachable, \d+ stale, \d+ offline$/)
    expect(table[2]).toMatch(/^avg of online: cpu [\d.]+%/)
    expect(table.find(l => l.includes('HOST'))).toMatch(/ID\s+HOST\s+STATUS\s+CPU%\*\s+MEM%\s+DISK%\s+UPTIME\s+LAST SEEN/)
    const row = table.find(l => l.includes(node.hostname))
    expect(row).toMatch(new RegExp(`^\\s*${node.id}\\s+${node.hostname}\\s+online\\s+42\\.5\\s+61\\.2\\s+17\\.0\\s`))
    for (const l of top.out().split('\n')) expect(l.length, l).toBeLessThanOrEqual(80)
    expect(top.out()).not.toContain('\u001B')
    expect(await stop(top)).toBe(0)
  })

  it('draws the live view in a pseudo-terminal and gives the terminal back on q', async (ctx) => {
    if (spawnSync('script', ['--version']).status !== 0) return ctx.skip('script(1) from util-linux is needed for a pseudo-terminal')
    // First by name, so it is on the 30-row screen whatever other nodes the suite's server holds.
    const { env, node } = await fixture(unique('000-top'))
    const top = startTop(['--server', server.baseURL, '--interval', '1', '--sort', 'name'], { ...env, TERM: 'xterm' },
      argv => ['script', ['-qfec', `stty cols 80 rows 30; ${argv.map(a => `'${a}'`).join(' ')}`, '/dev/null']])
    await until(top, () => top.out().includes(node.hostname), 'draw the node')
    expect(top.out()).toContain('\u001B[?1049h')
    expect(top.out()).toContain('\u001B[32monline')
    top.child.stdin!.write('c')
    await until(top, () => top.out().includes('sort: cpu'), 'sort by cpu')
    top.child.stdin!.write('q')
    expect(await top.exited).toBe(0)
    expect(top.out()).toContain('\u001B[?25h\u001B[?1049l')
  })

  it('exits 2 with a clear message when the token is refused', async () => {
    const { agentToken } = await fixture()
    const wrong = startTop(['--server', server.baseURL], { NODEPULSE_TOKEN: 'np_wrong' })
    expect(await wrong.exited).toBe(2)
    expect(wrong.err()).toMatch(/refused the token \(401 .*\): use an API token/)
    const agent = startTop(['--server', server.baseURL, '--json'], { NODEPULSE_TOKEN: agentToken })
    expect(await agent.exited).toBe(2)
    expect(agent.err()).toContain('agent token (npa_')
    expect(agent.out()).toBe('')
  })

  it('keeps retrying a server that is not there, saying so, and stops on SIGTERM', async () => {
    const top = startTop(['--server', 'http://127.0.0.1:1', '--json'], { NODEPULSE_TOKEN: 'np_any' })
    await until(top, () => /cannot reach 127\.0\.0\.1:1: ECONNREFUSED; retrying in \ds \(attempt 2\)/.test(top.err()), 'retry twice', 10_000)
    expect(await stop(top)).toBe(0)
  })

  it('exits 1 on bad settings', async () => {
    const none = startTop(['--server', server.baseURL], {})
    expect(await none.exited).toBe(1)
    expect(none.err()).toContain('no API token')
    const interval = startTop(['--server', server.baseURL, '--interval', '0'], { NODEPULSE_TOKEN: 'np_x' })
    expect(await interval.exited).toBe(1)
    expect(interval.err()).toContain('--interval=0 is invalid')
    const typo = startTop(['--server', server.baseURL, '--intervall', '2'], { NODEPULSE_TOKEN: 'np_x' })
    expect(await typo.exited).toBe(1)
    expect(typo.err()).toContain('unknown option --intervall')
  })
})
