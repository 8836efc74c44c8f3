// Footprint of the POSIX shell agent (cli/shell/nodepulse-agent.sh): runs it against a server for N
// minutes and samples its whole process tree from /proc every second: the sum of VmRSS over the shell
// and its live children, and CPU as utime+stime of the tree including reaped children (cutime+cstime).
//
//   node bench/agent-shell-footprint.mjs [--minutes 10] [--interval 5] [--shell dash] [--client curl|wget]
//                                        [--sample-ms 1000] [--server URL --node-id N] (NODEPULSE_TOKEN)
//
// Without --server it starts the built server (.output, `npx nuxi build` first) on a fresh database
// and registers a node. Prints max/avg RSS of the tree and CPU % of one core.
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { adminToken, startServer } from './lib.mjs'

const { values: opts } = parseArgs({
  options: {
    'minutes': { type: 'string', default: '10' },
    'interval': { type: 'string', default: '5' },
    'shell': { type: 'string', default: 'dash' },
    'client': { type: 'string' },
    'sample-ms': { type: 'string', default: '1000' },
    'server': { type: 'string' },
    'node-id': { type: 'string' },
  },
})
const CLK_TCK = 100
const minutes = Number(opts.minutes)
const sampleMs = Number(opts['sample-ms'])

let server
let base = opts.server
let nodeId = opts['node-id']
let token = process.env.NODEPULSE_TOKEN
if (!base) {
  server = await startServer()
  base = server.base
  const admin = await adminToken(base)
  const res = await fetch(`${base}/api/v1/nodes`, { method: 'POST', headers: { 'content-type': 'application/json', 'authorization': `Bearer ${admin}` }, body: JSON.stringify({ hostname: 'bench-agent-sh' }) })
  const node = await res.json()
  nodeId = String(node.id)
  token = node.token
}
if (!nodeId || !token) throw new Error('give --server URL --node-id N and NODEPULSE_TOKEN, or no --server to start one')

const spool = mkdtempSync(join(tmpdir(), 'nodepulse-bench-agent-sh-'))
const shell = opts.shell.split(' ')
const agent = spawn(shell[0], [...shell.slice(1), 'cli/shell/nodepulse-agent.sh', '--server', base, '--node-id', nodeId, '--interval', opts.interval, '--spool-dir', spool, '--debug'], {
  env: { PATH: process.env.PATH, HOME: spool, NODEPULSE_TOKEN: token, ...(opts.client ? { NODEPULSE_HTTP_CLIENT: opts.client } : {}) },
  stdio: ['ignore', 'ignore', 'pipe'],
  detached: true,
})
let log = ''
agent.stderr.on('data', (b) => {
  log += b.toString()
})

/** pid → [ppid, utime+stime, cutime+cstime, rss kB, command] for every process right now. */
function processes() {
  const all = new Map()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      all.set(Number(entry), { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) })
    }
    catch {
      // exited meanwhile
    }
  }
  return all
}

/** The agent's tree: summed RSS and PSS (kB; PSS shares shared-library pages out among their users), CPU ticks (own + reaped children of the tree), and the commands in it. */
function tree() {
  const all = processes()
  const inTree = (pid) => {
    for (let p = pid; p > 1; p = all.get(p)?.ppid ?? 0) if (p === agent.pid) return true
    return false
  }
  let rss = 0
  let pss = 0
  let ticks = 0
  const comms = []
  for (const [pid, p] of all) {
    if (!inTree(pid)) continue
    try {
      rss += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
      pss += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0)
    }
    catch {
      continue
    }
    // Reaped children's time is in their parent's cutime/cstime; live children count their own.
    ticks += p.own + p.reaped
    comms.push(p.comm)
  }
  return { rss, pss, ticks, comms }
}

const rssSeries = []
const pssSeries = []
let maxAt = { rss: 0, comms: [] }
let inFlight = 0
const first = tree()
const started = Date.now()
const end = started + minutes * 60_000
console.log(`shell agent under ${opts.shell}, interval ${opts.interval} s, ${minutes} min, sampling every ${sampleMs} ms`)
while (Date.now() < end && agent.exitCode === null) {
  await new Promise(r => setTimeout(r, sampleMs))
  const t = tree()
  if (!t.comms.length) break
  rssSeries.push(t.rss)
  pssSeries.push(t.pss)
  if (t.comms.some(c => /curl|wget/.test(c))) inFlight++
  if (t.rss > maxAt.rss) maxAt = t
}
const last = tree()
const elapsed = (Date.now() - started) / 1000
process.kill(-agent.pid, 'SIGTERM')
await new Promise(r => agent.once('exit', r))
await server?.stop()
rmSync(spool, { recursive: true, force: true })

const sent = (log.match(/debug: sample \d+ sent/g) ?? []).length
const problems = log.split('\n').filter(l => l && !l.includes('debug:') && !/started:|sending to|^Terminated$/.test(l))
const mean = xs => xs.reduce((a, b) => a + b, 0) / xs.length
const mib = kb => `${(kb / 1024).toFixed(2)} MiB`
const cpu = ((last.ticks - first.ticks) / CLK_TCK) / elapsed * 100
console.log(`samples sent: ${sent} in ${elapsed.toFixed(0)} s`)
console.log(`tree RSS: max ${mib(maxAt.rss)} (${maxAt.comms.join(' + ')}), avg ${mib(mean(rssSeries))}; PSS: max ${mib(Math.max(...pssSeries))}, avg ${mib(mean(pssSeries))}`)
console.log(`readings that caught a request in flight: ${inFlight} of ${rssSeries.length}`)
console.log(`tree CPU: ${cpu.toFixed(3)} % of one core (${((last.ticks - first.ticks) / CLK_TCK).toFixed(2)} s over ${elapsed.toFixed(0)} s)`)
if (problems.length) console.log(`agent log lines other than start-up:\n${problems.join('\n')}`)
