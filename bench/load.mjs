// The load generator of the ingest benches: forks bench/ingest-client.mjs processes, spreads the
// agents over them, and measures one window of back-to-back reports with the CPU of every process involved.
import { fork } from 'node:child_process'
import { percentile, procStats } from './lib.mjs'

const CLIENT = new URL('./ingest-client.mjs', import.meta.url)
const cpuOf = pids => pids.reduce((sum, pid) => sum + procStats(pid).cpuSeconds, 0)

/**
 * Runs `agents` (each `{id, token, port}`) posting `body` reports ('single', 'invalid' or 'batch')
 * from `clients` processes for `warmup` + `seconds` s; counts only the last `seconds`. `watch` names
 * the processes whose CPU is reported (e.g. {server: [pid], postgres: async () => pids}).
 * Returns reports/s, samples/s, latency p50/p99 (ms), answers by status and CPU % of one core per group.
 */
export async function runLoad({ agents, body, clients, warmup, seconds, watch = {}, batchFrom }) {
  const procs = Array.from({ length: Math.min(clients, agents.length) }, () => fork(CLIENT, { stdio: 'inherit' }))
  const warmupAt = Date.now() + 300
  const startAt = warmupAt + warmup * 1000
  const endAt = startAt + seconds * 1000
  const results = procs.map((p, i) => {
    p.send({ agents: agents.filter((_, k) => k % procs.length === i), body, batchFrom, warmupAt, startAt, endAt })
    return new Promise((resolve, reject) => p.once('message', resolve).once('error', reject))
  })
  const groups = Object.entries({ ...watch, generator: procs.map(p => p.pid) })
  await new Promise(resolve => setTimeout(resolve, startAt - Date.now()))
  const pidsOf = async w => (typeof w === 'function' ? w() : w)
  const watched = await Promise.all(groups.map(async ([name, w]) => [name, await pidsOf(w)]))
  const before = watched.map(([, pids]) => cpuOf(pids))
  await new Promise(resolve => setTimeout(resolve, endAt - Date.now()))
  const cpu = Object.fromEntries(watched.map(([name, pids], i) => [name, ((cpuOf(pids) - before[i]) / seconds) * 100]))
  const outs = await Promise.all(results)
  const latencies = outs.flatMap(o => o.latencies).sort((a, b) => a - b)
  const statuses = {}
  for (const o of outs) for (const [s, n] of Object.entries(o.statuses)) statuses[s] = (statuses[s] ?? 0) + n
  const reports = latencies.length / seconds
  return { reports, samples: reports * (body === 'batch' ? 1000 : 1), p50: percentile(latencies, 50), p99: percentile(latencies, 99), statuses, cpu }
}

/** The header of formatRow's table. */
export const TABLE_HEAD = unit => `| what | agents | ${unit} | latency p50 / p99 | CPU (% of one core) | server CPU per report | answers |\n|---|---|---|---|---|---|---|`

/**
 * One line of a results table: what, agents, rate, latency, CPU per group, the server's CPU time per
 * report (the figure that moves least when other jobs take the machine's cores), answers by status.
 */
export function formatRow(label, agents, r, unit = 'reports/s') {
  const rate = unit === 'samples/s' ? r.samples : r.reports
  const answers = Object.entries(r.statuses).map(([s, n]) => `${s}×${n}`).join(' ')
  const cpu = Object.entries(r.cpu).map(([name, pct]) => `${name} ${pct.toFixed(0)}%`).join(', ')
  const serverCpu = r.cpu.server ?? r.cpu.servers
  const perReport = serverCpu === undefined || !r.reports ? '–' : `${Math.round((serverCpu / 100 / r.reports) * 1e6).toLocaleString('en-US')} µs`
  return `| ${label} | ${agents} | ${Math.round(rate).toLocaleString('en-US')} | ${r.p50.toFixed(1)} / ${r.p99.toFixed(1)} ms | ${cpu} | ${perReport} | ${answers} |`
}
