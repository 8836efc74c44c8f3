#!/usr/bin/env node
// Idle footprint, side by side in one run: NodePulse on the embedded database (a new data directory,
// only its master node), NodePulse on PostgreSQL (with --postgres), and Netdata and Glances from
// Debian's packages when installed (`apt-get install netdata glances`). Each runs at the same time,
// settles, then its RSS and CPU are read from /proc over the same window.
//
//   npx nuxi build && node bench/idle-footprint.mjs [--settle 600] [--measure 60]
//       [--postgres postgres://postgres@127.0.0.1:5432/postgres] [--build other/.output] [--plain-node]
//
// NodePulse runs as `npm start` runs it (scripts/server-settings.mjs); --plain-node adds this build
// started by a bare `node` without those settings, to show what they change.
// --build adds a second NodePulse (embedded) from another build, e.g. an older commit's, to compare.
// Every process is loopback-only and stopped at the end, also on Ctrl+C.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { SERVER_ENV, SERVER_NODE_ARGS } from '../scripts/server-settings.mjs'
import { freePort, procStats } from './lib.mjs'

const { values: args } = parseArgs({ options: {
  'settle': { type: 'string', default: '60' },
  'measure': { type: 'string', default: '60' },
  'postgres': { type: 'string' },
  'build': { type: 'string' },
  'plain-node': { type: 'boolean', default: false },
} })
const settleS = Number(args.settle)
const measureS = Number(args.measure)
const cleanups = []
/** Stops every process and removes every directory this run made (once, whichever comes first: the end or a signal). */
async function cleanUp() {
  for (const c of cleanups.splice(0).reverse()) await c()
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => void cleanUp().finally(() => process.exit(130)))
}
const sleep = ms => new Promise(r => setTimeout(r, ms))

/** The process and all its descendants (Netdata runs plugins as children). */
function tree(pid) {
  const children = new Map()
  for (const d of readdirSync('/proc').filter(n => /^\d+$/.test(n))) {
    try {
      const ppid = Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1])
      if (!children.has(ppid)) children.set(ppid, [])
      children.get(ppid).push(Number(d))
    }
    catch { /* gone */ }
  }
  const all = [pid]
  for (let i = 0; i < all.length; i++) all.push(...(children.get(all[i]) ?? []))
  return all
}
function treeStats(pid) {
  let rss = 0, cpuSeconds = 0
  for (const p of tree(pid)) {
    try {
      const s = procStats(p)
      rss += s.rss
      cpuSeconds += s.cpuSeconds
    }
    catch { /* gone */ }
  }
  return { rss, cpuSeconds }
}

async function waitHttp(url, seconds = 120) {
  for (let i = 0; i < seconds * 10; i++) {
    try {
      if ((await fetch(url)).status < 500) return true
    }
    catch { /* not yet */ }
    await sleep(100)
  }
  return false
}

function launch(name, cmd, argv, env = {}) {
  const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'], detached: true })
  let err = ''
  child.stderr.on('data', (d) => {
    if (err.length < 2000) err += d
  })
  cleanups.push(async () => {
    try {
      process.kill(-child.pid, 'SIGTERM')
    }
    catch { /* ended */ }
    await Promise.race([new Promise(r => child.once('exit', r)), sleep(10_000)])
    try {
      process.kill(-child.pid, 'SIGKILL')
    }
    catch { /* ended */ }
  })
  return { name, pid: child.pid, stderr: () => err }
}

/** A NodePulse as `npm start` runs it (scripts/server-settings.mjs), or with `plain`, as a bare `node` would. */
async function nodepulse(name, output, env, { plain = false } = {}) {
  const port = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), 'nodepulse-idle-'))
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }))
  const p = launch(name, process.execPath, [...(plain ? [] : SERVER_NODE_ARGS), join(output, 'server/index.mjs')], { ...(plain ? {} : SERVER_ENV), PORT: String(port), HOST: '127.0.0.1', NODEPULSE_DATA_DIR: dataDir, ...env })
  if (!(await waitHttp(`http://127.0.0.1:${port}/api/health`))) throw new Error(`${name} did not start: ${p.stderr()}`)
  return p
}

const rows = []
try {
  rows.push(await nodepulse('NodePulse, embedded database (this build)', '.output', {}))
  if (args['plain-node']) rows.push(await nodepulse('NodePulse, embedded database (this build, plain `node`: no server settings)', '.output', {}, { plain: true }))
  if (args.build) rows.push(await nodepulse(`NodePulse, embedded database (${args.build})`, args.build, {}))
  if (args.postgres) {
    const dbName = `nodepulse_bench_idle_${process.pid}`
    const admin = postgres(args.postgres, { max: 1, onnotice: () => {} })
    await admin.unsafe(`create database ${dbName}`)
    const url = new URL(args.postgres)
    url.pathname = `/${dbName}`
    const p = await nodepulse('NodePulse on PostgreSQL (server process)', '.output', { DATABASE_URL: url.href })
    rows.push(p)
    cleanups.push(async () => {
      await admin.unsafe(`drop database if exists ${dbName} with (force)`)
      await admin.end()
    })
  }
  if (existsSync('/usr/sbin/netdata')) {
    const port = await freePort()
    const p = launch('Netdata (Debian), per-second system metrics', '/usr/sbin/netdata', ['-D', '-i', '127.0.0.1', '-p', String(port)])
    if (await waitHttp(`http://127.0.0.1:${port}/api/v1/info`)) rows.push({ ...p, tree: true })
    else console.error(`netdata did not answer: ${p.stderr()}`)
  }
  else console.error('netdata not installed (apt-get install netdata): left out')
  if (spawnSync('which', ['glances']).status === 0) {
    const port = await freePort()
    const p = launch('Glances web API (Debian)', 'glances', ['-w', '--disable-webui', '-B', '127.0.0.1', '-p', String(port)])
    if (await waitHttp(`http://127.0.0.1:${port}/api/3/cpu`)) rows.push(p)
    else console.error(`glances did not answer: ${p.stderr()}`)
  }
  else console.error('glances not installed (apt-get install glances): left out')

  console.error(`settling ${settleS} s, then measuring ${measureS} s…`)
  await sleep(settleS * 1000)
  // RSS moves by several MB as garbage is collected: it is read every 5 s of the window, and the
  // median and the highest reading are shown.
  const start = rows.map(r => treeStats(r.pid))
  const readings = rows.map(() => [])
  for (let t = 0; t < measureS; t += 5) {
    await sleep(Math.min(5, measureS - t) * 1000)
    rows.forEach((r, i) => readings[i].push({ tree: treeStats(r.pid).rss, main: procStats(r.pid).rss }))
  }
  const end = rows.map(r => treeStats(r.pid))
  const median = values => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
  console.log(`\nIdle, side by side: ${settleS} s to settle, ${measureS} s measured; RSS read every 5 s; CPU in % of one core`)
  console.log('| what | RSS median (max), MiB | CPU |')
  console.log('|---|---:|---:|')
  rows.forEach((r, i) => {
    const tree = readings[i].map(x => x.tree)
    const rss = `${median(tree).toFixed(0)} (${Math.max(...tree).toFixed(0)})`
    const shown = r.tree ? `${rss}, main process ${median(readings[i].map(x => x.main)).toFixed(0)}` : rss
    console.log(`| ${r.name} | ${shown} | ${((100 * (end[i].cpuSeconds - start[i].cpuSeconds)) / measureS).toFixed(2)} % |`)
  })
}
finally {
  await cleanUp()
}
