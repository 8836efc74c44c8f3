#!/usr/bin/env node
/**
 * Footprint of both agents side by side (issue 9): the Node agent (dist/agent/nodepulse-agent.mjs)
 * and the POSIX shell agent (cli/shell/nodepulse-agent.sh) report to one built server at the same
 * interval, next to a bare idle `node` as the floor of any Node.js process here. Every --sample-ms
 * the bench reads each process tree from /proc:
 *
 * - RSS: VmRSS summed over the tree (shared pages count in every process that maps them);
 * - peak: the largest sum over the tree of each process's VmHWM (its own peak so far), so a child
 *   seen only late in its short life still counts with its peak; children that start and end
 *   between two readings are missed, which is why the readings are frequent;
 * - PSS: from /proc/<pid>/smaps_rollup, shared pages divided among the processes that map them;
 * - CPU: utime+stime of the tree, reaped children included (cutime+cstime), as % of one core.
 *
 *   node bench/agent-footprint.mjs [--minutes 10] [--interval 5] [--sample-ms 200]
 *                                  [--node-flags="<V8 flags>;<V8 flags>…"] [--shell dash] [--clients auto,curl,…]
 *
 * --node-flags: one Node agent (and one bare node) per flag set, `;` between sets; `-` is no flags.
 * Default: the flags the install commands and the systemd unit use, and none, to show what they save.
 * --clients: one shell agent per HTTP client (NODEPULSE_HTTP_CLIENT; `auto` lets the agent pick).
 * --agent-files: Node agent bundles to run side by side, `name=path` separated by commas (default:
 * `built=dist/agent/nodepulse-agent.mjs`), e.g. an earlier revision's build against this one's.
 * Needs `npx nuxi build` first (it builds dist/agent/ too); starts the server on a fresh database.
 */
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
    'sample-ms': { type: 'string', default: '200' },
    'node-flags': { type: 'string' },
    'shell': { type: 'string', default: 'dash' },
    'clients': { type: 'string', default: 'auto' },
    'agent-files': { type: 'string', default: 'built=dist/agent/nodepulse-agent.mjs' },
  },
})
const CLK_TCK = 100
const minutes = Number(opts.minutes)
const sampleMs = Number(opts['sample-ms'])
const agentFlags = readFileSync('shared/agentFlags.ts', 'utf8').match(/NODE_AGENT_FLAGS = \[([^\]]*)\]/)?.[1]
  ?.split(',').map(s => s.trim().replace(/^'|'$/g, '')).filter(Boolean) ?? []
const flagSets = (opts['node-flags'] ?? `${agentFlags.join(' ') || '-'};-`).split(';')
  .map(s => s.trim()).filter((s, i, all) => all.indexOf(s) === i).map(s => (s === '-' || !s ? [] : s.split(/\s+/)))
const label = flags => (flags.length ? flags.join(' ') : 'no flags')

const server = await startServer()
const admin = await adminToken(server.base)
const work = mkdtempSync(join(tmpdir(), 'nodepulse-bench-footprint-'))

async function createNode(hostname) {
  const res = await fetch(`${server.base}/api/v1/nodes`, { method: 'POST', headers: { 'content-type': 'application/json', 'authorization': `Bearer ${admin}` }, body: JSON.stringify({ hostname }) })
  if (res.status !== 201) throw new Error(`creating a node: ${res.status} ${await res.text()}`)
  return res.json()
}

/** One measured process: spawned in a group of its own so its tree can be ended with it. */
async function start(name, command, args, { node, env = {} } = {}) {
  const spool = mkdtempSync(join(work, 'spool-'))
  const agentArgs = node ? ['--server', server.base, '--node-id', String(node.id), '--interval', opts.interval, '--spool-dir', spool] : []
  const child = spawn(command, [...args, ...agentArgs], {
    env: { PATH: process.env.PATH, HOME: spool, ...(node ? { NODEPULSE_TOKEN: node.token } : {}), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  })
  let log = ''
  child.stderr.on('data', (b) => {
    log += b.toString()
  })
  return { name, child, pid: child.pid, log: () => log, rss: [], pss: [], peak: { kb: 0, comms: '' }, inFlight: 0, first: undefined, last: undefined }
}

const procs = []
for (const flags of flagSets) procs.push(await start(`bare node, idle (${label(flags)})`, process.execPath, [...flags, '-e', 'setInterval(() => {}, 1000)']))
const agentFiles = opts['agent-files'].split(',').map(s => s.split('='))
for (const [name, file] of agentFiles) {
  for (const flags of flagSets) {
    const which = agentFiles.length > 1 ? `${name}, ` : ''
    procs.push(await start(`Node agent (${which}${label(flags)})`, process.execPath, [...flags, file, 'agent'], { node: await createNode(`bench-node-${procs.length}`) }))
  }
}
for (const client of opts.clients.split(',')) {
  const shell = opts.shell.split(' ')
  procs.push(await start(`shell agent (${opts.shell}, ${client})`, shell[0], [...shell.slice(1), 'cli/shell/nodepulse-agent.sh'], {
    node: await createNode(`bench-sh-${client}`),
    env: client === 'auto' ? {} : { NODEPULSE_HTTP_CLIENT: client },
  }))
}

/** pid → { ppid, ticks (own + reaped children), comm } for every process right now. */
function processes() {
  const all = new Map()
  for (const entry of readdirSync('/proc')) {
    if (entry.charCodeAt(0) > 57) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      all.set(Number(entry), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) })
    }
    catch {
      // exited meanwhile
    }
  }
  return all
}

const kb = (text, key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0)

/** Each measured process's tree now: summed RSS, VmHWM and PSS (kB), CPU ticks, and its commands. */
function readTrees() {
  const all = processes()
  const rootOf = new Map(procs.map(p => [p.pid, p]))
  const trees = new Map(procs.map(p => [p, { rss: 0, hwm: 0, pss: 0, ticks: 0, comms: [] }]))
  for (const [pid, p] of all) {
    let root = pid
    while (root > 1 && !rootOf.has(root)) root = all.get(root)?.ppid ?? 0
    const owner = rootOf.get(root)
    if (!owner) continue
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8')
      const t = trees.get(owner)
      t.rss += kb(status, 'VmRSS')
      t.hwm += kb(status, 'VmHWM')
      t.pss += kb(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss')
      t.ticks += p.ticks
      t.comms.push(p.comm)
    }
    catch {
      // exited meanwhile
    }
  }
  return trees
}

const started = Date.now()
const end = started + minutes * 60_000
console.log(`${procs.length} processes, interval ${opts.interval} s, ${minutes} min, a reading every ${sampleMs} ms; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`)
let readings = 0
while (Date.now() < end && procs.every(p => p.child.exitCode === null)) {
  const trees = readTrees()
  for (const [p, t] of trees) {
    if (!t.comms.length) continue
    p.first ??= { at: Date.now(), ticks: t.ticks }
    p.last = { at: Date.now(), ticks: t.ticks }
    p.rss.push(t.rss)
    p.pss.push(t.pss)
    if (t.comms.length > 2 || (t.comms.length > 1 && !t.comms.includes('sleep'))) p.inFlight++
    if (t.hwm > p.peak.kb) p.peak = { kb: t.hwm, comms: t.comms.join(' + ') }
  }
  readings++
  await new Promise(r => setTimeout(r, Math.max(0, sampleMs - ((Date.now() - started) % sampleMs))))
}
const loadEnd = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
for (const p of procs) {
  try {
    process.kill(-p.pid, 'SIGTERM')
  }
  catch {
    // gone
  }
}
await Promise.all(procs.map(p => (p.child.exitCode === null ? new Promise(r => p.child.once('exit', r)) : undefined)))
await server.stop()
rmSync(work, { recursive: true, force: true })

const mean = xs => xs.reduce((a, b) => a + b, 0) / xs.length
const mib = k => (k / 1024).toFixed(2)
const elapsed = (Date.now() - started) / 1000
console.log(`\n${readings} readings over ${elapsed.toFixed(0)} s; load average at the end ${loadEnd}\n`)
console.log('| process | samples sent | tree RSS max / avg | tree peak (Σ VmHWM) | PSS avg | CPU of one core | readings with a request in flight |')
console.log('|---|---:|---:|---:|---:|---:|---:|')
for (const p of procs) {
  const taken = /stopped: (\d+) samples taken this run, (\d+) waiting/.exec(p.log())
  const sent = taken ? String(Number(taken[1]) - Number(taken[2])) : '—'
  const cpu = p.first && p.last.at > p.first.at ? ((p.last.ticks - p.first.ticks) / CLK_TCK) / ((p.last.at - p.first.at) / 1000) * 100 : Number.NaN
  const transport = /started: .*?, (\w[\w-]*), spool/.exec(p.log())?.[1]
  console.log(`| ${p.name}${transport ? ` → ${transport}` : ''} | ${sent} | ${mib(Math.max(...p.rss))} / ${mib(mean(p.rss))} MiB | ${mib(p.peak.kb)} MiB | ${mib(mean(p.pss))} MiB | ${cpu.toFixed(3)} % | ${p.name.startsWith('shell') ? `${p.inFlight} of ${p.rss.length}` : '—'} |`)
}
console.log('\nlargest tree peaks:')
for (const p of procs) console.log(`  ${p.name}: ${p.peak.comms}`)
const problems = procs.flatMap(p => p.log().split('\n').filter(l => /unreachable|refused|warn|error/i.test(l)).map(l => `${p.name}: ${l}`))
if (problems.length) console.log(`\nagent log lines that say something went wrong:\n${problems.slice(0, 20).join('\n')}`)
