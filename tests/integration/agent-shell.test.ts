/**
 * The POSIX shell agent (cli/shell/nodepulse-agent.sh) run as a real process under dash, and under
 * busybox sh where busybox is installed, against the built server: exit codes, live sending with
 * the host detail, an outage with the agent killed and restarted, the spool's bound and damaged
 * files, the systemd service files, and the token kept off child processes' command lines.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import postgres from 'postgres'
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest'
import type { NodeWithDetail } from '../../shared/contracts/rest'
import type { EventPage } from '../../shared/contracts/seed002'
import { api, asAdmin, server, unique } from './helpers'
import { freePort } from './support/server'
import { unitFile } from '../../cli/agent/service'
import { startDedicated, until, type CreatedAgent } from './support/dedicated'
import { killAgents as killNodeAgents, runAgent as runNodeAgent, startRecordingProxy, type RecordingProxy } from './support/agent'

const SCRIPT = fileURLToPath(new URL('../../cli/shell/nodepulse-agent.sh', import.meta.url))
const onPath = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0
const HAVE_BUSYBOX = onPath('busybox')
const BUSYBOX = spawnSync('sh', ['-c', 'command -v busybox']).stdout.toString().trim()
// OpenBSD's nc (Debian's netcat-openbsd): the shell agent's first choice for an http:// server.
const HAVE_NC = spawnSync('sh', ['-c', 'nc -h 2>&1']).stdout.toString().includes('OpenBSD')
/** The clients the exit codes are checked with: the agent's own pick (nc where it is here) and curl. */
const CLIENTS = HAVE_NC ? ['nc', 'curl'] : ['curl']
const SHELLS: { name: string, argv: string[] }[] = [
  { name: 'dash', argv: ['dash'] },
  ...(HAVE_BUSYBOX ? [{ name: 'busybox sh', argv: ['busybox', 'sh'] }] : []),
]
if (!HAVE_BUSYBOX) console.warn('agent-shell: busybox is not installed, so the shell agent runs under dash only (apt-get install busybox)')
if (!HAVE_NC) console.warn('agent-shell: OpenBSD nc is not installed, so the shell agent sends with curl here (apt-get install netcat-openbsd)')

const work = mkdtempSync(join(tmpdir(), 'nodepulse-agent-sh-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

interface Agent {
  child: ChildProcess
  pid: number
  /** stdout and stderr so far. */
  out: () => string
  exit: Promise<number | null>
}
const running = new Set<Agent>()

/** Starts the agent under `shell` in a process group of its own (so its children can be ended with it). */
function startAgent(shell: string[], args: string[], env: Record<string, string> = {}, opts: { uid?: number, input?: string } = {}): Agent {
  const { input, ...spawnOpts } = opts
  const child = spawn(shell[0]!, [...shell.slice(1), SCRIPT, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, ...env },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    detached: true,
    ...spawnOpts,
  })
  if (input !== undefined) child.stdin!.end(input)
  let out = ''
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()))
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()))
  const exit = new Promise<number | null>(done => child.once('close', code => done(code)))
  const agent: Agent = { child, pid: child.pid!, out: () => out, exit }
  running.add(agent)
  void exit.then(() => running.delete(agent))
  return agent
}

/** Ends the agent and every process of its group: SIGKILL as a crash would, or SIGTERM as systemd stops it. */
async function stopAgent(agent: Agent, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  try {
    process.kill(-agent.pid, signal)
  }
  catch {
    // already gone
  }
  const killer = setTimeout(() => {
    try {
      process.kill(-agent.pid, 'SIGKILL')
    }
    catch {
      // gone
    }
  }, 5000)
  await agent.exit
  clearTimeout(killer)
}

afterEach(async () => {
  await Promise.all([...running].map(a => stopAgent(a, 'SIGKILL')))
})

/** Runs the agent to its end (for --once and the service options). */
async function runAgent(shell: string[], args: string[], env: Record<string, string> = {}, opts: { uid?: number, input?: string } = {}) {
  const agent = startAgent(shell, args, env, opts)
  const code = await agent.exit
  return { code, out: agent.out() }
}

/** The timestamps of the samples the agent produced (logged at --debug once each is sent or spooled). */
const produced = (out: string) => [...out.matchAll(/debug: sample (\d+) (?:sent|spooled)/g)].map(m => Number(m[1]))
const sentCount = (out: string) => (out.match(/debug: sample \d+ sent/g) ?? []).length

function spoolDir(): string {
  const dir = join(work, `spool-${randomBytes(4).toString('hex')}`)
  mkdirSync(dir, { mode: 0o700 })
  return dir
}
const spooledLines = (dir: string) => readdirSync(dir).filter(f => /^\d+\.jsonl$/.test(f)).flatMap(f => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean))

async function createNode(prefix = 'agent-sh'): Promise<CreatedAgent> {
  const res = await api<CreatedAgent>('POST', '/api/v1/nodes', { auth: await asAdmin(), json: { hostname: unique(prefix) } })
  expect(res.status, res.text).toBe(201)
  return res.body
}

const agentArgs = (node: { id: number }, spool: string, more: string[] = [], base = server.baseURL) =>
  ['--server', base, '--node-id', String(node.id), '--spool-dir', spool, '--debug', ...more]

describe.each(SHELLS)('the shell agent under $name', ({ argv }) => {
  it.each(CLIENTS)('--once with %s exits 0 when sent, 2 for a wrong or another node\'s token, 3 for an unknown node, 1 (spooled) when the server is away', async (client) => {
    const [node, other] = await Promise.all([createNode(), createNode()])
    const deadPort = await freePort()
    const awaySpool = spoolDir()
    const env = { NODEPULSE_HTTP_CLIENT: client }
    const [sent, wrong, foreign, unknown, away] = await Promise.all([
      runAgent(argv, agentArgs(node, spoolDir(), ['--once']), { ...env, NODEPULSE_TOKEN: node.token }),
      runAgent(argv, agentArgs(node, spoolDir(), ['--once']), { ...env, NODEPULSE_TOKEN: `npa_${randomBytes(16).toString('hex')}` }),
      runAgent(argv, agentArgs(node, spoolDir(), ['--once']), { ...env, NODEPULSE_TOKEN: other.token }),
      runAgent(argv, agentArgs({ id: 999_999 }, spoolDir(), ['--once']), { ...env, NODEPULSE_TOKEN: node.token }),
      runAgent(argv, agentArgs(node, awaySpool, ['--once'], `http://127.0.0.1:${deadPort}`), { ...env, NODEPULSE_TOKEN: node.token }),
    ])
    expect(sent.code, sent.out).toBe(0)
    expect(sent.out).toContain(client === 'nc' ? 'openbsd-nc' : client)
    expect(sentCount(sent.out)).toBe(1)
    expect(wrong.code, wrong.out).toBe(2)
    expect(wrong.out).toMatch(/refused the token \(401\): it is wrong or was revoked/)
    expect(foreign.code, foreign.out).toBe(2)
    expect(foreign.out).toMatch(/token belongs to another node \(403\)/)
    expect(unknown.code, unknown.out).toBe(3)
    expect(unknown.out).toContain('node 999999 does not exist on the server (404)')
    expect(away.code, away.out).toBe(1)
    expect(away.out).toContain('server unreachable')
    expect(spooledLines(awaySpool)).toHaveLength(1)

    const view = await api<NodeWithDetail>('GET', `/api/v1/nodes/${node.id}`, { auth: await asAdmin() })
    expect(view.status, view.text).toBe(200)
    expect(view.body.detail?.os?.platform).toBe('linux')
  })

  it('rates count on past a 32-bit counter\'s wrap and are null (not 0) when a counter went back from higher', () => {
    // The script's own rate(), taken out of it and run by this shell: rate NOW PREV CENTISECONDS [FACTOR].
    const cases: [string, string][] = [
      ['1100 100 100', '1000'],
      ['10 4294967290 100', '16'], // a 32-bit counter wrapped: 6 to the wrap, 10 after it
      ['5 5000000000 100', 'null'], // a 64-bit counter went back: reset, unknown
      ['3 1 100 512', '1024'], // disk sectors, 512 bytes each
      ['5 5 0', 'null'],
    ]
    const script = `eval "$(sed -n '/^rate() {/,/^}/p' "$1")"; shift; for a in "$@"; do rate $a; echo "$REPLY"; done`
    const res = spawnSync(argv[0]!, [...argv.slice(1), '-c', script, 'sh', SCRIPT, ...cases.map(c => c[0])])
    expect(res.stdout.toString().trim().split('\n'), res.stderr.toString()).toEqual(cases.map(c => c[1]))
  })

  it('sends live samples every second with the host detail, and no child process shows the token', async () => {
    const node = await createNode()
    const agent = startAgent(argv, agentArgs(node, spoolDir(), ['--interval', '1']), { NODEPULSE_TOKEN: node.token })
    const seen = await watchChildren(agent.pid, node.token, 3500)
    expect(seen.commands, 'nc where it is here, else curl').toContain(HAVE_NC ? 'nc' : 'curl')
    expect(seen.leaked, 'command lines holding the token').toEqual([])
    await until('three live samples', () => sentCount(agent.out()) >= 3, 10_000)
    expect(agent.out()).not.toMatch(/refused/)

    const view = await api<NodeWithDetail>('GET', `/api/v1/nodes/${node.id}`, { auth: await asAdmin() })
    expect(view.status, view.text).toBe(200)
    const detail = view.body.detail!
    expect(detail, 'the node shows the agent\'s detail').not.toBeNull()
    expect(detail.load?.['1m']).toBeGreaterThanOrEqual(0)
    expect(detail.cpu_cores?.length).toBeGreaterThan(0)
    expect(detail.memory?.total_bytes).toBeGreaterThan(0)
    expect(detail.disk?.mount).toBe('/')
    expect(detail.disks?.length).toBeGreaterThan(0)
    expect(detail.disk_io).not.toBeNull()
    expect(detail.processes).toBeGreaterThan(0)
    expect(detail.os).toMatchObject({ platform: 'linux' })
    expect(agent.out().match(/nodepulse-agent: (?!debug)/g), 'one line per state change, none per sample').toHaveLength(2)
  })
})

/** Polls the agent's descendants' command lines every few ms for `ms`. */
async function watchChildren(root: number, token: string, ms: number): Promise<{ commands: string[], leaked: string[] }> {
  const commands = new Set<string>()
  const leaked = new Set<string>()
  const end = Date.now() + ms
  while (Date.now() < end) {
    const parents = new Map<number, number>()
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
        parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
      }
      catch {
        // exited meanwhile
      }
    }
    for (const pid of parents.keys()) {
      let p = parents.get(pid)
      while (p !== undefined && p > 1 && p !== root) p = parents.get(p)
      if (p !== root && pid !== root) continue
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()
        if (!cmd) continue
        if (pid !== root) commands.add(cmd.split(' ')[0]!.split('/').pop()!)
        if (cmd.includes(token)) leaked.add(cmd)
      }
      catch {
        // exited meanwhile
      }
    }
    await new Promise(r => setTimeout(r, 5))
  }
  return { commands: [...commands], leaked: [...leaked] }
}

describe('the shell agent', () => {
  it('loses nothing in an outage, killed and restarted during it: samples produced == stored, none twice', { timeout: 120_000 }, async () => {
    // The server of this test keeps its database where the test can read it after the server stops.
    const project = inject('server')
    const env: Record<string, string> = {}
    let databaseUrl: string | undefined
    let dropDatabase = async () => {}
    const dataDir = join(work, 'outage-db')
    if (project.driver === 'postgres') {
      const adminUrl = process.env.TEST_DATABASE_URL!
      const name = `np_test_agentsh_${randomBytes(4).toString('hex')}`
      const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
      await admin.unsafe(`create database ${name}`)
      const url = new URL(adminUrl)
      url.pathname = `/${name}`
      databaseUrl = url.toString()
      env.DATABASE_URL = databaseUrl
      dropDatabase = async () => {
        await admin.unsafe(`drop database if exists ${name} with (force)`)
        await admin.end({ timeout: 5 })
      }
    }
    else {
      env.NODEPULSE_DATA_DIR = dataDir
    }
    const d = await startDedicated('agent-sh-outage', env)
    let stopped = false
    try {
      const runs = await Promise.all(SHELLS.map(async shell => ({ shell, node: await d.createAgent(), spool: spoolDir(), outs: [] as string[] })))
      const start = (r: typeof runs[number]) => startAgent(r.shell.argv, agentArgs(r.node, r.spool, ['--interval', '1'], d.baseURL), { NODEPULSE_TOKEN: r.node.token })
      let agents = runs.map(start)
      await until('live samples before the outage', () => agents.every(a => sentCount(a.out()) >= 2), 15_000)

      await d.srv.restart(async () => {
        await until('the agents notice the outage', () => agents.every(a => a.out().includes('server unreachable')), 10_000)
        await new Promise(r => setTimeout(r, 3000))
        // A crash in the middle of the outage: the whole process tree, without a chance to clean up.
        await Promise.all(agents.map(a => stopAgent(a, 'SIGKILL')))
        runs.forEach((r, i) => r.outs.push(agents[i]!.out()))
        agents = runs.map(start)
        // At least 8 spooled in all; under load a restarted agent takes a few seconds to its first samples.
        await until('eight samples spooled', () => runs.every(r => spooledLines(r.spool).length >= 8), 15_000)
      })

      await until('the spools drained', () => agents.every(a => a.out().includes('spool drained')), 30_000)
      const after = agents.map(a => sentCount(a.out()))
      await until('live samples after the outage', () => agents.every((a, i) => sentCount(a.out()) >= after[i]! + 2), 10_000)
      await Promise.all(agents.map(a => stopAgent(a, 'SIGTERM')))
      runs.forEach((r, i) => r.outs.push(agents[i]!.out()))

      await d.stop()
      stopped = true
      const stored = await storedTimestamps(databaseUrl, dataDir, runs.map(r => r.node.id))
      for (const [i, r] of runs.entries()) {
        const made = r.outs.flatMap(produced)
        expect(new Set(made).size, `${r.shell.name}: each sample produced once`).toBe(made.length)
        expect(made.length).toBeGreaterThanOrEqual(10)
        expect(spooledLines(r.spool), `${r.shell.name}: spool empty`).toEqual([])
        expect(stored[i], `${r.shell.name}: stored == produced\n${r.outs.join('\n---\n')}`).toEqual([...made].sort((a, b) => a - b))
        expect(r.outs.join('')).toMatch(/server back: sending \d+ spooled samples/)
      }
    }
    finally {
      if (!stopped) await d.stop()
      await dropDatabase()
    }
  })

  it('keeps at most --spool-max samples, dropping the oldest, and reports the count as an error_report when the server is back', async () => {
    const node = await createNode()
    const spool = spoolDir()
    const away = `http://127.0.0.1:${await freePort()}`
    const agent = startAgent(['dash'], agentArgs(node, spool, ['--interval', '1', '--spool-max', '3'], away), { NODEPULSE_TOKEN: node.token })
    await until('six samples spooled', () => produced(agent.out()).length >= 6, 15_000)
    await stopAgent(agent)
    const made = produced(agent.out())
    expect(agent.out().match(/spool full/g), 'said once').toHaveLength(1)
    const kept = spooledLines(spool).map(l => (JSON.parse(l) as { timestamp: number }).timestamp)
    expect(kept, 'the newest three are kept').toEqual(made.slice(-3))
    const dropped = Number(readFileSync(join(spool, 'dropped'), 'utf8'))
    expect(dropped).toBe(made.length - 3)

    const back = await runAgent(['dash'], agentArgs(node, spool, ['--once', '--spool-max', '3']), { NODEPULSE_TOKEN: node.token })
    expect(back.code, back.out).toBe(0)
    expect(back.out).toContain(`reported ${dropped} dropped samples`)
    expect(back.out).toMatch(/batch \d+\.jsonl of 3 samples sent: 3 stored, 0 duplicates/)
    expect(existsSync(join(spool, 'dropped'))).toBe(false)
    const events = await api<EventPage>('GET', `/api/v1/events?node_id=${node.id}&event_type=error_report`, { auth: await asAdmin() })
    expect(events.status, events.text).toBe(200)
    expect(events.body.events).toHaveLength(1)
    expect(events.body.events[0]!.data).toMatchObject({ source: 'agent', agent: { dropped_samples: dropped, spool_max: 3 } })
  })

  it('spools under $XDG_STATE_HOME/nodepulse without --spool-dir, as root too (never the service\'s spool)', async () => {
    const node = await createNode()
    const state = spoolDir()
    const away = await runAgent(SHELLS[0]!.argv, ['--server', `http://127.0.0.1:${await freePort()}`, '--node-id', String(node.id), '--once'], { NODEPULSE_TOKEN: node.token, XDG_STATE_HOME: state })
    expect(away.code, away.out).toBe(1)
    expect(away.out).toContain(`spool ${join(state, 'nodepulse')}`)
    expect(spooledLines(join(state, 'nodepulse'))).toHaveLength(1)
  })

  it('names spool files by a rising number, after every file there, so a clock stepped back neither overwrites a file nor drops the newest', async () => {
    const node = await createNode()
    const spool = spoolDir()
    // Files an earlier run wrote (named by its samples' ms, as before) while the clock was an hour ahead.
    const ahead = Date.now() + 3_600_000
    const line = (ts: number) => JSON.stringify({ cpu_percent: 1, memory_percent: 1, disk_percent: 1, timestamp: ts })
    writeFileSync(join(spool, `${ahead}.jsonl`), `${line(ahead)}\n${line(ahead + 1000)}\n`)
    writeFileSync(join(spool, `${ahead + 5000}.corrupt`), 'x\n')
    const away = `http://127.0.0.1:${await freePort()}`
    const agent = startAgent(['dash'], agentArgs(node, spool, ['--interval', '1', '--spool-max', '4'], away), { NODEPULSE_TOKEN: node.token })
    await until('five samples spooled', () => produced(agent.out()).length >= 5, 15_000)
    await stopAgent(agent)
    const made = produced(agent.out())
    const files = readdirSync(spool).filter(f => /^\d+\.(jsonl|corrupt)$/.test(f)).sort()
    expect(files[0], 'the set-aside file is kept').toBe(`${ahead + 5000}.corrupt`)
    for (const f of files.slice(1)) expect(Number(f.split('.')[0]), f).toBeGreaterThan(ahead + 5000)
    const kept = files.filter(f => f.endsWith('.jsonl')).flatMap(f => readFileSync(join(spool, f), 'utf8').split('\n').filter(Boolean)).map(l => (JSON.parse(l) as { timestamp: number }).timestamp)
    expect(kept, 'the oldest (the earlier run\'s) dropped, the newest four kept, in order').toEqual(made.slice(-4))
    expect(Number(readFileSync(join(spool, 'dropped'), 'utf8'))).toBe(made.length + 2 - 4)
  })

  describe('switching agent kind on a host keeps the backlog (one spool format)', () => {
    const proxies: RecordingProxy[] = []
    afterEach(async () => {
      await killNodeAgents()
      await Promise.all(proxies.splice(0).map(p => p.close()))
    })
    const recording = async () => {
      const p = await startRecordingProxy(server.baseURL)
      proxies.push(p)
      return p
    }

    it('shell → Node: the Node agent sends the samples the shell agent spooled, each once', async () => {
      const node = await createNode()
      const spool = spoolDir()
      const away = `http://127.0.0.1:${await freePort()}`
      const shell = startAgent(['dash'], agentArgs(node, spool, ['--interval', '1'], away), { NODEPULSE_TOKEN: node.token })
      await until('three samples spooled', () => spooledLines(spool).length >= 3, 15_000)
      await stopAgent(shell)
      const made = produced(shell.out())
      expect(spooledLines(spool).map(l => (JSON.parse(l) as { timestamp: number }).timestamp)).toEqual(made)

      const proxy = await recording()
      const run = await runNodeAgent(['--once'], { NODEPULSE_SERVER: proxy.url, NODEPULSE_NODE_ID: String(node.id), NODEPULSE_TOKEN: node.token, NODEPULSE_SPOOL_DIR: spool })
      expect(run.code, run.output).toBe(0)
      expect(spooledLines(spool), 'spool empty').toEqual([])
      const sent = proxy.reports.filter(r => r.status === 200)
      // The live sample, then the shell agent's batch as it was spooled.
      expect(sent.flatMap(r => r.timestamps).slice(1)).toEqual(made)
      expect(sent.reduce((n, r) => n + r.stored, 0)).toBe(made.length + 1)
      expect(sent.reduce((n, r) => n + r.duplicates, 0)).toBe(0)
    })

    it('Node → shell: the shell agent appends to and sends the Node agent\'s spool, each sample once', async () => {
      const node = await createNode()
      const spool = spoolDir()
      const env = { NODEPULSE_SERVER: `http://127.0.0.1:${await freePort()}`, NODEPULSE_NODE_ID: String(node.id), NODEPULSE_TOKEN: node.token, NODEPULSE_SPOOL_DIR: spool }
      for (let i = 0; i < 3; i++) expect((await runNodeAgent(['--once'], env)).code).toBe(1)
      const made = spooledLines(spool).map(l => (JSON.parse(l) as { timestamp: string }).timestamp)
      expect(made).toHaveLength(3)
      // Three runs, one segment: each appended to the newest.
      expect(readdirSync(spool).filter(f => f.endsWith('.jsonl'))).toEqual(['0000000000001.jsonl'])
      // A shell run while the server is away appends to the same segment.
      const away = await runAgent(['dash'], agentArgs(node, spool, ['--once'], env.NODEPULSE_SERVER), { NODEPULSE_TOKEN: node.token })
      expect(away.code, away.out).toBe(1)
      expect(readdirSync(spool).filter(f => f.endsWith('.jsonl'))).toEqual(['0000000000001.jsonl'])
      expect(spooledLines(spool)).toHaveLength(4)

      const proxy = await recording()
      const back = await runAgent(['dash'], agentArgs(node, spool, ['--once'], proxy.url), { NODEPULSE_TOKEN: node.token })
      expect(back.code, back.out).toBe(0)
      expect(back.out).toMatch(/batch 0000000000001\.jsonl of 4 samples sent: 4 stored, 0 duplicates/)
      expect(spooledLines(spool), 'spool empty').toEqual([])
      expect(proxy.reports.flatMap(r => r.timestamps).slice(1, 4)).toEqual(made)
    })
  })

  it('sets a damaged spool file aside, sends its whole lines, moves a refused batch aside and goes on', async () => {
    const node = await createNode()
    const spool = spoolDir()
    const t = Date.now() - 60_000
    const line = (ts: number, cpu = 1) => JSON.stringify({ cpu_percent: cpu, disk_percent: 2, timestamp: ts })
    writeFileSync(join(spool, `${t}.jsonl`), `${line(t)}\n${line(t + 1000)}\n${line(t + 2000).slice(0, 20)}`)
    writeFileSync(join(spool, `${t + 3000}.jsonl`), '\0\0garbage\n')
    writeFileSync(join(spool, `${t + 4000}.jsonl`), `${line(t + 4000, 500)}\n`)
    const res = await runAgent(['dash'], agentArgs(node, spool, ['--once']), { NODEPULSE_TOKEN: node.token })
    expect(res.code, res.out).toBe(0)
    expect(res.out).toContain(`spool file ${t}.jsonl was damaged: 1 line(s) moved aside as ${t}.corrupt`)
    expect(res.out).toMatch(new RegExp(`batch ${t}\\.jsonl of 2 samples sent: 2 stored`))
    expect(res.out).toContain(`spool file ${t + 3000}.jsonl was damaged`)
    expect(res.out).toMatch(/refused spooled batch \d+\.jsonl \(422: .*cpu_percent/)
    expect(res.out).toContain('spool drained')
    expect(readdirSync(spool).sort()).toEqual([`${t}.corrupt`, `${t + 3000}.corrupt`, `${t + 4000}.rejected`])
  })

  it('--install-service checks the token with the server, then writes the unit and a 0600 env file holding the token under --root; --uninstall-service removes them', async () => {
    const root = join(work, 'root')
    const tokenFile = join(work, 'token')
    const node = await createNode()
    const token = node.token
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 })
    const install = await runAgent(['dash'], ['--install-service', '--root', root, '--server', server.baseURL, '--node-id', String(node.id), '--token-file', tokenFile, '--interval', '10'])
    expect(install.code, install.out).toBe(0)
    expect(install.out).toContain(`accepted the token for node ${node.id}`)
    expect(install.out).toContain('would run: systemctl daemon-reload')
    expect(install.out, 'enabled, then restarted: a re-install replaces a running agent').toMatch(/would run: systemctl daemon-reload\nwould run: systemctl enable nodepulse-agent.service\nwould run: systemctl restart nodepulse-agent.service\n/)
    expect(install.out).not.toContain('--now')

    const envFile = join(root, 'etc/nodepulse/agent.env')
    expect(statSync(envFile).mode & 0o777).toBe(0o600)
    const envText = readFileSync(envFile, 'utf8')
    for (const l of [`NODEPULSE_SERVER=${server.baseURL}`, `NODEPULSE_NODE_ID=${node.id}`, `NODEPULSE_TOKEN=${token}`, 'NODEPULSE_INTERVAL=10', 'NODEPULSE_SPOOL_DIR=/var/lib/nodepulse']) expect(envText).toContain(`${l}\n`)
    const unit = readFileSync(join(root, 'etc/systemd/system/nodepulse-agent.service'), 'utf8')
    for (const l of ['EnvironmentFile=/etc/nodepulse/agent.env', 'ExecStart=/bin/sh /usr/local/lib/nodepulse/nodepulse-agent.sh', 'Restart=always', 'StateDirectory=nodepulse']) expect(unit).toContain(`${l}\n`)
    // Not root, no capabilities, a read-only system but for the spool: as the Node agent's unit.
    const sandbox = ['DynamicUser=yes', 'StateDirectoryMode=0700', 'ReadWritePaths=/var/lib/nodepulse', 'ProtectSystem=strict', 'ProtectHome=read-only', 'PrivateTmp=yes', 'NoNewPrivileges=yes', 'CapabilityBoundingSet=', 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX', 'PrivateDevices=yes', 'ProtectKernelTunables=yes', 'RestrictSUIDSGID=yes', 'SystemCallArchitectures=native']
    for (const l of sandbox) expect(unit).toContain(`\n${l}\n`)
    const nodeUnit = unitFile('/usr/bin/node', server.baseURL)
    const settings = (text: string) => text.split('\n').filter(l => /^(DynamicUser|State|ReadWrite|Protect|Private|Restrict|NoNew|Capab|Lock|SystemCall)/.test(l)).sort()
    expect(settings(unit), 'the same sandbox as the Node agent\'s unit').toEqual(settings(nodeUnit))
    const script = join(root, 'usr/local/lib/nodepulse/nodepulse-agent.sh')
    expect(readFileSync(script, 'utf8')).toBe(readFileSync(SCRIPT, 'utf8'))
    expect(statSync(script).mode & 0o777).toBe(0o755)
    const holding = walk(root).filter(f => readFileSync(f, 'utf8').includes(token))
    expect(holding, 'the token is in the env file only').toEqual([envFile])
    expect(install.out).not.toContain(token)

    const uninstall = await runAgent(['dash'], ['--uninstall-service', '--root', root])
    expect(uninstall.code, uninstall.out).toBe(0)
    expect(uninstall.out).toContain('would run: systemctl disable --now nodepulse-agent.service')
    expect(walk(root)).toEqual([])

    if (process.getuid?.() === 0) {
      const refused = await runAgent(['dash'], ['--install-service', '--server', 'http://x', '--node-id', '1', '--token-file', tokenFile], {}, { uid: 65534 })
      expect(refused.code).toBe(1)
      expect(refused.out).toContain('--install-service needs root')
    }
  })

  it.each(SHELLS)('--install-service under $name reads the token piped on stdin (--token-file /dev/stdin) once, trimmed, into the 0600 env file', async ({ argv }) => {
    const root = join(work, `root-stdin-${randomBytes(4).toString('hex')}`)
    const token = `npa_${randomBytes(16).toString('hex')}`
    const dead = `http://127.0.0.1:${await freePort()}`
    const install = await runAgent(argv, ['--install-service', '--root', root, '--server', dead, '--node-id', '7', '--token-file', '/dev/stdin'], {}, { input: ` ${token} \r\n\n` })
    expect(install.code, install.out).toBe(0)
    expect(install.out, 'an unreachable server only warns').toMatch(/warning: could not check the token: the server at \S+ is unreachable.*installing anyway/)
    const envFile = join(root, 'etc/nodepulse/agent.env')
    expect(statSync(envFile).mode & 0o777).toBe(0o600)
    expect(readFileSync(envFile, 'utf8')).toContain(`\nNODEPULSE_TOKEN=${token}\n`)
    expect(readFileSync(envFile, 'utf8'), 'no --spool-max given: the default follows the interval').not.toContain('NODEPULSE_SPOOL_MAX')
    expect(install.out).not.toContain(token)

    // --spool-max goes into the env file; --purge removes the spool (and systemd's private copy of it).
    const again = await runAgent(argv, ['--install-service', '--root', root, '--server', dead, '--node-id', '7', '--spool-max', '500', '--token-file', '/dev/stdin'], {}, { input: token })
    expect(again.code, again.out).toBe(0)
    expect(readFileSync(envFile, 'utf8')).toContain('\nNODEPULSE_SPOOL_MAX=500\n')
    for (const dir of ['var/lib/nodepulse', 'var/lib/private/nodepulse']) {
      mkdirSync(join(root, dir), { recursive: true })
      writeFileSync(join(root, dir, '0000000000001.jsonl'), '{}\n')
    }
    const keep = await runAgent(argv, ['--uninstall-service', '--root', root])
    expect(keep.code, keep.out).toBe(0)
    expect(keep.out).toContain('add --purge to remove them')
    expect(walk(root).map(f => f.slice(root.length)).sort()).toEqual(['/var/lib/nodepulse/0000000000001.jsonl', '/var/lib/private/nodepulse/0000000000001.jsonl'])
    const purge = await runAgent(argv, ['--uninstall-service', '--purge', '--root', root])
    expect(purge.code, purge.out).toBe(0)
    expect(purge.out).toContain('and the spool /var/lib/nodepulse')
    expect(walk(root)).toEqual([])
    expect((await runAgent(argv, ['--purge', '--once'])).out).toContain('--purge goes with --uninstall-service')
    // Nothing piped in: said, not waited on.
    const empty = await runAgent(argv, ['--install-service', '--root', root, '--server', dead, '--node-id', '7', '--token-file', '/dev/stdin'], {}, { input: ' \n' })
    expect(empty.code, empty.out).toBe(1)
    expect(empty.out).toContain('the token file /dev/stdin is empty')
    rmSync(root, { recursive: true, force: true })
  })

  it('--install-service refuses a wrong token (2), an unknown node (3) and the page\'s placeholder (2) before writing anything', async () => {
    const [node, other] = await Promise.all([createNode(), createNode()])
    const root = join(work, `root-refused-${randomBytes(4).toString('hex')}`)
    const install = (id: number, token: string) => runAgent(['dash'], ['--install-service', '--root', root, '--server', server.baseURL, '--node-id', String(id), '--token-file', '/dev/stdin'], {}, { input: `${token}\n` })
    const [wrong, foreign, unknown, placeholder] = await Promise.all([
      install(node.id, `npa_${randomBytes(16).toString('hex')}`),
      install(node.id, other.token),
      install(999_999, node.token),
      install(node.id, 'PASTE-THE-NODE-TOKEN-HERE'),
    ])
    expect(wrong.code, wrong.out).toBe(2)
    expect(wrong.out).toMatch(/refused the token \(401\).*nothing installed/)
    expect(foreign.code, foreign.out).toBe(2)
    expect(foreign.out).toMatch(/belongs to another node \(403\).*nothing installed/)
    expect(unknown.code, unknown.out).toBe(3)
    expect(unknown.out).toMatch(/node 999999 does not exist on the server \(404\).*nothing installed/)
    expect(placeholder.code, placeholder.out).toBe(2)
    expect(placeholder.out).toContain('the token is still the placeholder PASTE-THE-NODE-TOKEN-HERE')
    expect(walk(root), 'nothing written').toEqual([])
  })

  it('--token works but warns, and the agent runs on without it on its command line', async () => {
    const node = await createNode()
    const agent = startAgent(['dash'], [...agentArgs(node, spoolDir(), ['--interval', '1']), '--token', node.token])
    await until('a sample sent', () => sentCount(agent.out()) >= 1, 10_000)
    expect(agent.out()).toMatch(/warning: --token shows the token to every local user in ps; use NODEPULSE_TOKEN, --token-file/)
    expect(readFileSync(`/proc/${agent.pid}/cmdline`, 'utf8')).not.toContain(node.token)
    const spool = agent.out().match(/spool (\S+) \(/)![1]!
    const second = await runAgent(['dash'], agentArgs(node, spool, ['--once']), { NODEPULSE_TOKEN: node.token })
    expect(second.code, second.out).toBe(1)
    expect(second.out).toContain(`another agent (pid ${agent.pid}) already uses the spool dir`)
  })

  it('locks the spool with agent.lock (its pid on the first line, as the Node agent does), and takes over a stale one', async () => {
    const node = await createNode()
    const spool = spoolDir()
    const lock = join(spool, 'agent.lock')
    const once = () => runAgent(['dash'], agentArgs(node, spool, ['--once']), { NODEPULSE_TOKEN: node.token })
    const agent = startAgent(['dash'], agentArgs(node, spool, ['--interval', '1'], `http://127.0.0.1:${await freePort()}`), { NODEPULSE_TOKEN: node.token })
    await until('the lock taken', () => agent.out().includes('started:'), 10_000)
    expect(readFileSync(lock, 'utf8')).toBe(`${agent.pid}\n`)
    const second = await once()
    expect(second.code, second.out).toBe(1)
    expect(second.out).toContain(`another agent (pid ${agent.pid}) already uses the spool dir`)
    await stopAgent(agent)
    expect(existsSync(lock), 'removed on exit').toBe(false)

    // A Node agent's lock (a live process whose command line names nodepulse) is respected...
    const other = spawn('sleep', ['30'], { argv0: 'nodepulse-agent.mjs', stdio: 'ignore' })
    // ...one whose pid now belongs to something else, or to nothing, is stale.
    const unrelated = spawn('sleep', ['30'], { stdio: 'ignore' })
    const gone = spawnSync('true').pid
    try {
      writeFileSync(lock, `${other.pid}\n`)
      const held = await once()
      expect(held.code, held.out).toBe(1)
      expect(held.out).toContain(`another agent (pid ${other.pid}) already uses the spool dir`)
      expect(readFileSync(lock, 'utf8')).toBe(`${other.pid}\n`)
      for (const pid of [unrelated.pid!, gone]) {
        writeFileSync(lock, `${pid}\n`)
        const took = await once()
        expect(took.code, took.out).toBe(0)
        expect(took.out).toContain(`taking over the stale lock ${lock} (pid ${pid})`)
        expect(existsSync(lock)).toBe(false)
      }
    }
    finally {
      other.kill()
      unrelated.kill()
    }
  })

  it.each(CLIENTS)('with %s honours Retry-After on 429 and says once when its clock is off from the server\'s Date', async (client) => {
    // A stand-in server: 429 with Retry-After 3 for the first report, then 200 with a Date an hour behind.
    const requests: number[] = []
    const fake = createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        requests.push(Date.now())
        if (requests.length === 1) {
          res.writeHead(429, { 'retry-after': '3', 'content-type': 'application/json' })
          res.end('{"statusCode":429,"message":"slow down"}')
          return
        }
        res.sendDate = false
        res.writeHead(200, { 'date': new Date(Date.now() - 3_600_000).toUTCString(), 'content-type': 'application/json' })
        res.end('{"node_id":1,"accepted":1,"stored":1,"duplicates":0,"last_seen":"x"}')
      })
    })
    await new Promise<void>(r => fake.listen(0, '127.0.0.1', r))
    try {
      const port = (fake.address() as AddressInfo).port
      const agent = startAgent(['dash'], agentArgs({ id: 1 }, spoolDir(), ['--interval', '1'], `http://127.0.0.1:${port}`), { NODEPULSE_TOKEN: 'npa_test', NODEPULSE_HTTP_CLIENT: client })
      await until('three samples sent after the wait', () => sentCount(agent.out()) >= 3, 15_000)
      expect(agent.out()).toContain('server busy (429, retry after 3 s)')
      expect(requests[1]! - requests[0]!, 'no request while Retry-After holds').toBeGreaterThanOrEqual(2900)
      expect(agent.out().match(/clock skew: this host's clock is 3\d{3} s ahead of the server's/g)).toHaveLength(1)
    }
    finally {
      await new Promise(r => fake.close(r))
    }
  })

  it('when the token is refused during a long run: says so once, spools, asks again with a growing backoff, and drains once accepted again', async () => {
    // A stand-in server: 401 for the first two requests, then 200 (a batch answered with its count).
    const requests: { at: number, batch: number }[] = []
    const fake = createServer((req, res) => {
      let body = ''
      req.on('data', (b: Buffer) => (body += b.toString()))
      req.on('end', () => {
        const samples = (JSON.parse(body) as { samples?: unknown[] }).samples
        requests.push({ at: Date.now(), batch: samples?.length ?? 0 })
        res.setHeader('content-type', 'application/json')
        if (requests.length <= 2) {
          res.writeHead(401)
          res.end('{"statusCode":401,"message":"invalid node token"}')
          return
        }
        const n = samples?.length ?? 1
        res.writeHead(200)
        res.end(`{"node_id":1,"accepted":${n},"stored":${n},"duplicates":0,"last_seen":"x"}`)
      })
    })
    await new Promise<void>(r => fake.listen(0, '127.0.0.1', r))
    try {
      const port = (fake.address() as AddressInfo).port
      const spool = spoolDir()
      const agent = startAgent(['dash'], agentArgs({ id: 1 }, spool, ['--interval', '1'], `http://127.0.0.1:${port}`), { NODEPULSE_TOKEN: 'npa_test', NODEPULSE_RECHECK_BACKOFF: '2 4' })
      await until('the spool drained once the token is accepted again', () => agent.out().includes('spool drained'), 20_000)
      const out = agent.out()
      expect(out.match(/refused the token \(401\)/g), out).toHaveLength(1)
      expect(out).toContain('put the node\'s current token (Nodes page) in NODEPULSE_TOKEN')
      expect(out).toContain('the server is asked again in 2 s, then at most every 4 s')
      expect(agent.child.exitCode, 'it keeps running').toBeNull()
      expect(requests[1]!.at - requests[0]!.at, 'no request until the first re-check').toBeGreaterThanOrEqual(1900)
      expect(requests[2]!.at - requests[1]!.at, 'the second wait is twice as long').toBeGreaterThanOrEqual(3900)
      expect(out).toMatch(/the server accepted the token for node 1 again: sending \d+ spooled samples/)
      const drained = requests.slice(3).reduce((n, r) => n + r.batch, 0)
      expect(drained, 'every sample taken while refused is sent').toBeGreaterThanOrEqual(5)
      expect(spooledLines(spool)).toEqual([])
    }
    finally {
      await new Promise(r => fake.close(r))
    }
  })

  it('sends with wget when told to (or without curl): GNU wget keeps the token off its command line', async () => {
    const node = await createNode()
    const agent = startAgent(['dash'], agentArgs(node, spoolDir(), ['--interval', '1']), { NODEPULSE_TOKEN: node.token, NODEPULSE_HTTP_CLIENT: 'wget' })
    const seen = await watchChildren(agent.pid, node.token, 2500)
    await until('samples sent with GNU wget', () => sentCount(agent.out()) >= 2, 10_000)
    expect(agent.out()).toContain('gnu-wget')
    expect(seen.commands).toContain('wget')
    expect(seen.leaked).toEqual([])
  })

  it('sends with curl when told to (or for https://), with the token kept off its command line', async () => {
    const node = await createNode()
    const agent = startAgent(['dash'], agentArgs(node, spoolDir(), ['--interval', '1']), { NODEPULSE_TOKEN: node.token, NODEPULSE_HTTP_CLIENT: 'curl' })
    const seen = await watchChildren(agent.pid, node.token, 2500)
    await until('samples sent with curl', () => sentCount(agent.out()) >= 2, 10_000)
    expect(seen.commands).toContain('curl')
    expect(seen.leaked).toEqual([])
  })

  it('will not send to an https:// server with nc', async () => {
    const res = await runAgent(['dash'], ['--server', 'https://np.example', '--node-id', '1', '--spool-dir', spoolDir(), '--once'], { NODEPULSE_TOKEN: 'npa_test', NODEPULSE_HTTP_CLIENT: 'nc' })
    expect(res.code).toBe(1)
    expect(res.out).toContain('NODEPULSE_HTTP_CLIENT=nc speaks plain http:// only')
  })

  it.runIf(HAVE_BUSYBOX)('sends with busybox nc where busybox is all there is, keeping the token off every command line', async () => {
    const node = await createNode()
    const bin = busyboxBin(['nc', 'mkfifo'])
    const env = { PATH: bin, NODEPULSE_TOKEN: node.token }
    const agent = startAgent([BUSYBOX, 'sh'], agentArgs(node, spoolDir(), ['--interval', '1']), env)
    const seen = await watchChildren(agent.pid, node.token, 2500)
    await until('samples sent with busybox nc', () => sentCount(agent.out()) >= 2, 10_000)
    expect(agent.out()).toContain('busybox-nc')
    expect(agent.out()).not.toContain('warning')
    expect(seen.leaked).toEqual([])
    const [wrong, away] = await Promise.all([
      runAgent([BUSYBOX, 'sh'], agentArgs(node, spoolDir(), ['--once']), { ...env, NODEPULSE_TOKEN: `npa_${randomBytes(16).toString('hex')}` }),
      runAgent([BUSYBOX, 'sh'], agentArgs(node, spoolDir(), ['--once'], `http://127.0.0.1:${await freePort()}`), env),
    ])
    expect(wrong.code, wrong.out).toBe(2)
    expect(away.code, away.out).toBe(1)
    expect(away.out).toMatch(/server unreachable \(nc: .*refused\)/)
  })

  it.runIf(HAVE_BUSYBOX)('sends with busybox wget where that is the only client, warning that the token shows in ps', async () => {
    const node = await createNode()
    const bin = busyboxBin(['wget'])
    const res = await runAgent([BUSYBOX, 'sh'], agentArgs(node, spoolDir(), ['--once']), { PATH: bin, NODEPULSE_TOKEN: node.token })
    expect(res.code, res.out).toBe(0)
    expect(res.out).toContain('busybox-wget')
    expect(res.out).toContain('warning: only busybox wget is here')
  })
})

/** A PATH directory of busybox applets only: the tools the agent uses, plus `extra`; no busybox binary itself, so no other applet is found by name. */
function busyboxBin(extra: string[]): string {
  const bin = join(work, `busybox-${extra.join('-')}`)
  mkdirSync(bin, { recursive: true })
  for (const tool of [...extra, 'date', 'df', 'sleep', 'mv', 'rm', 'cat', 'sed', 'grep', 'wc', 'mkdir', 'id', 'uname', 'readlink', 'tr', 'sh']) {
    if (!existsSync(join(bin, tool))) symlinkSync(BUSYBOX, join(bin, tool))
  }
  chmodSync(bin, 0o755)
  return bin
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true }).flatMap(e => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]))
}

/** Each node's stored sample times (unix ms, ascending), read from the stopped server's database. */
async function storedTimestamps(databaseUrl: string | undefined, dataDir: string, nodeIds: number[]): Promise<number[][]> {
  const query = 'select (extract(epoch from ts) * 1000)::bigint::text as ms from node_samples where node_id = $1 order by ts'
  if (databaseUrl) {
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
    try {
      return await Promise.all(nodeIds.map(async id => (await sql.unsafe<{ ms: string }[]>(query, [id])).map(r => Number(r.ms))))
    }
    finally {
      await sql.end({ timeout: 5 })
    }
  }
  const db = await PGlite.create(dataDir)
  try {
    const out: number[][] = []
    for (const id of nodeIds) out.push((await db.query<{ ms: string }>(query, [id])).rows.map(r => Number(r.ms)))
    return out
  }
  finally {
    await db.close()
  }
}
