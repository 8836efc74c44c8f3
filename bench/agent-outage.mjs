#!/usr/bin/env node
/**
 * Outage bench for the agents (issue 9): both agents report once a second to the built server on
 * PostgreSQL; the server is stopped for each outage length, then started again on the same port
 * and database. Prints, per agent and outage: samples the agent produced (from its own "stopped:
 * N samples taken" line), samples stored, distinct timestamps stored, and the time from the
 * server's return until the agent says its spool is drained.
 *
 *   node bench/agent-outage.mjs [--outages 60,600] [--agents node,shell] [--interval 1]
 *
 * Needs `npx nuxi build` first (it also builds dist/agent/) and PostgreSQL at
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres); a database of its own is
 * created and dropped for each outage.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { ADMIN, adminToken, freePort, procStats } from './lib.mjs'

const { values: args } = parseArgs({
  options: {
    outages: { type: 'string', default: '60,600' },
    agents: { type: 'string', default: 'node,shell' },
    interval: { type: 'string', default: '1' },
    live: { type: 'string', default: '15' },
  },
})
const outages = args.outages.split(',').map(Number)
const kinds = args.agents.split(',')
const liveSeconds = Number(args.live)
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const sleep = ms => new Promise(r => setTimeout(r, ms))

// As installed: the Node agent with the V8 flags of shared/agentFlags.ts, the shell agent under dash.
const AGENTS = {
  node: ['node', ['--lite-mode', '--no-expose-wasm', 'dist/agent/nodepulse-agent.mjs']],
  shell: ['dash', ['cli/shell/nodepulse-agent.sh']],
}

function startServer(port, databaseUrl, dataDir) {
  const child = spawn(process.execPath, ['.output/server/index.mjs'], {
    env: {
      ...process.env, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: databaseUrl, NODEPULSE_DATA_DIR: dataDir,
      NODEPULSE_ADMIN_USER: ADMIN.username, NODEPULSE_ADMIN_PASSWORD: ADMIN.password,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const base = `http://127.0.0.1:${port}`
  const ready = (async () => {
    for (let i = 0; i < 600; i++) {
      try {
        if ((await fetch(`${base}/api/health`)).ok) return
      }
      catch {
        // not listening yet
      }
      await sleep(100)
    }
    throw new Error('the server did not start within 60 s')
  })()
  return {
    base, ready,
    async stop() {
      child.kill('SIGTERM')
      await new Promise(r => (child.exitCode !== null ? r() : child.once('exit', r)))
    },
  }
}

function startAgent(kind, base, node, spoolDir) {
  const [cmd, argv] = AGENTS[kind]
  const child = spawn(cmd, [...argv, '--server', base, '--node-id', String(node.id), '--interval', args.interval, '--spool-dir', spoolDir], {
    env: { ...process.env, NODEPULSE_TOKEN: node.token },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let log = ''
  const waiters = []
  child.stderr.on('data', (chunk) => {
    log += chunk.toString('utf8')
    for (const w of [...waiters]) {
      if (w.re.test(log.slice(w.from))) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(Date.now())
      }
    }
  })
  const exited = new Promise(r => child.once('exit', r))
  return {
    kind, pid: child.pid,
    log: () => log,
    /** Resolves with the time a line matching `re` appears after this call. */
    waitFor(re) {
      return new Promise(resolve => waiters.push({ re, from: log.length, resolve }))
    },
    async stop() {
      child.kill('SIGTERM')
      await exited
      const m = /stopped: (\d+) samples taken/.exec(log)
      if (!m) throw new Error(`the ${kind} agent did not say how many samples it took:\n${log}`)
      return Number(m[1])
    },
  }
}

async function runOutage(outageSeconds) {
  const dbName = `nodepulse_bench_outage_${process.pid}_${outageSeconds}`
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
  await admin.unsafe(`drop database if exists ${dbName}`)
  await admin.unsafe(`create database ${dbName}`)
  const dbUrl = new URL(adminUrl)
  dbUrl.pathname = `/${dbName}`
  const dataDir = mkdtempSync(join(tmpdir(), 'nodepulse-bench-outage-'))
  const port = await freePort()
  let server = startServer(port, dbUrl.href, dataDir)
  await server.ready
  const token = await adminToken(server.base)
  const agents = []
  try {
    for (const kind of kinds) {
      const res = await fetch(`${server.base}/api/v1/nodes`, {
        method: 'POST', headers: { 'authorization': `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ hostname: `bench-${kind}-${outageSeconds}` }),
      })
      const node = await res.json()
      agents.push({ node, agent: startAgent(kind, server.base, node, join(dataDir, `spool-${kind}`)) })
    }
    await sleep(liveSeconds * 1000)
    await server.stop()
    const peakDuring = Object.fromEntries(agents.map(a => [a.agent.kind, 0]))
    const outageEnds = Date.now() + outageSeconds * 1000
    while (Date.now() < outageEnds) {
      for (const a of agents) peakDuring[a.agent.kind] = Math.max(peakDuring[a.agent.kind], procStats(a.agent.pid).rss)
      await sleep(1000)
    }
    const drained = agents.map(a => a.agent.waitFor(/spool drained/))
    server = startServer(port, dbUrl.href, dataDir)
    await server.ready
    const back = Date.now()
    const drainedAt = await Promise.race([Promise.all(drained), sleep(300_000).then(() => null)])
    await sleep(liveSeconds * 1000)
    const rows = []
    const db = postgres(dbUrl.href, { max: 1, onnotice: () => {} })
    for (const [i, a] of agents.entries()) {
      const produced = await a.agent.stop()
      const [{ stored, distinct }] = await db`select count(*)::int as stored, count(distinct ts)::int as distinct from node_samples where node_id = ${a.node.id}`
      rows.push({
        agent: a.agent.kind, outage_s: outageSeconds, produced, stored, distinct_ts: distinct,
        lost: produced - distinct, duplicates: stored - distinct,
        drain_s: drainedAt ? ((drainedAt[i] - back) / 1000).toFixed(1) : 'not drained in 300 s',
        peak_rss_during_outage_mib: peakDuring[a.agent.kind].toFixed(1),
      })
    }
    await db.end()
    return rows
  }
  finally {
    for (const a of agents) await a.agent.stop().catch(() => {})
    await server.stop()
    await admin.unsafe(`drop database if exists ${dbName} with (force)`)
    await admin.end()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

const all = []
for (const outage of outages) {
  console.log(`outage of ${outage} s: ${kinds.join(' and ')} agents at ${args.interval} s, ${liveSeconds} s live before and after…`)
  const rows = await runOutage(outage)
  console.table(rows)
  all.push(...rows)
}
console.log('\nAll runs:')
console.table(all)
if (all.some(r => r.lost !== 0 || r.duplicates !== 0)) process.exitCode = 1
