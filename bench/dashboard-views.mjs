#!/usr/bin/env node
// The dashboard's views (grid order, summary, readings, the selector's names) per delta stream message, in
// Node: the full recompute over every node that the page did per message until 2026-12-02, against the views
// kept per changed node (utils/nodeOrder.ts, createSummaryTally); then a search keystroke and a sort change.
// CPU time of this process (process.cpuUsage), so other work on the machine inflates it less than wall time.
// Usage: node bench/dashboard-views.mjs [--nodes 10000] [--changing 0.1] [--messages 40]
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { percentile, transpileTs } from './lib.mjs'

const { values } = parseArgs({ options: {
  nodes: { type: 'string', default: '10000' }, changing: { type: 'string', default: '0.1' }, messages: { type: 'string', default: '40' },
} })
const NODES = Number(values.nodes)
const CHANGING = Number(values.changing)
const MESSAGES = Number(values.messages)

// Inside node_modules, so the transpiled modules find their packages (zod).
const root = fileURLToPath(new URL('..', import.meta.url))
const dir = mkdtempSync(join(root, 'node_modules', '.cache', 'dashboard-views-bench-'))
try {
  const [list, order, deltas, scope] = await Promise.all(['utils/nodeList.ts', 'utils/nodeOrder.ts', 'utils/nodeDeltas.ts', 'utils/nodeScope.ts']
    .map(async file => import(await transpileTs(join(root, file), dir))))
  const { filterNodes, sortNodes, summarize, createSummaryTally } = list
  const { applyNodeMessage, diffNodes } = deltas
  const { addReadings, scopeGroups } = scope

  let tick = 0
  const at = () => new Date(Date.UTC(2026, 11, 2, 6, 0, tick * 5)).toISOString()
  const node = id => ({
    id, hostname: `bench-${id - 1}`, status: 'online', state: 'online', is_master: id === 1, cpu_percent: Math.random() * 100,
    memory_percent: Math.random() * 100, disk_percent: Math.random() * 100, uptime_seconds: 3600, active_backups: 0, last_seen: id === 1 ? null : at(),
  })
  const labels = new Map(Array.from({ length: NODES + 1 }, (_, i) => [i + 1, { rack: `r${i % 20}` }]))
  const members = new Map()
  let table = applyNodeMessage({ timestamp: null, nodes: [] }, 'snapshot', { timestamp: at(), nodes: Array.from({ length: NODES + 1 }, (_, i) => node(i + 1)) })
  // A tenth of the nodes a tick, taking turns, as bench/dashboard-render.mjs --changing reports them.
  const perTick = Math.max(1, Math.round(NODES * CHANGING))
  const nextMessage = () => {
    tick++
    const changed = Array.from({ length: perTick }, (_, k) => node(2 + ((tick * perTick + k) % NODES)))
    table = applyNodeMessage(table, 'delta', { timestamp: at(), changed, removed: [] })
    return table
  }
  const cpuMs = (fn) => {
    const t0 = process.cpuUsage()
    fn()
    const { user, system } = process.cpuUsage(t0)
    return (user + system) / 1000
  }

  // Until 2026-12-02, per message: sort, filter, summary, the selector's groups (compared by JSON), names, every node's readings.
  const view = { q: '', status: 'all', sort: 'name', group: '', labels }
  let groups = scopeGroups(table.nodes, members)
  let rows = []
  const full = (t) => {
    const matching = filterNodes(sortNodes(t.nodes, view.sort), view.q, view.status, labels)
    const byId = new Map(t.nodes.map(n => [n.id, n]))
    const summary = summarize(t.nodes)
    const next = scopeGroups(t.nodes, members)
    if (JSON.stringify(groups) !== JSON.stringify(next)) groups = next
    const names = new Map(t.nodes.map(n => [n.id, n.hostname]))
    rows = addReadings(rows, { timestamp: t.timestamp, nodes: t.nodes }, 1000)
    return [matching, byId, summary, names]
  }
  // Now: the same views kept per changed node.
  const grid = order.createGridOrder()
  const tally = createSummaryTally()
  let seen = []
  let names = new Map()
  const kept = (t) => {
    const matching = grid.sync(t.nodes, view)
    const summary = tally(t.nodes)
    if (!(names.size === t.nodes.length && t.nodes.every(n => names.get(n.id) === n.hostname))) names = new Map(t.nodes.map(n => [n.id, n.hostname]))
    const { after } = diffNodes(seen, t.nodes)
    seen = t.nodes
    rows = addReadings(rows, { timestamp: t.timestamp, nodes: after }, 1000)
    return [matching, summary]
  }

  const first = { full: cpuMs(() => full(table)), kept: cpuMs(() => kept(table)) }
  const perMessage = { full: [], kept: [] }
  for (let i = 0; i < MESSAGES; i++) {
    const t = nextMessage()
    perMessage.full.push(cpuMs(() => full(t)))
    perMessage.kept.push(cpuMs(() => kept(t)))
  }
  // A search typed one key at a time, then cleared, then a sort by cpu: the full path re-filters its sorted copy.
  const sorted = sortNodes(table.nodes, 'name')
  const typed = { full: [], kept: [] }
  for (let i = 1; i <= 'bench-42'.length; i++) {
    const q = 'bench-42'.slice(0, i)
    typed.full.push(cpuMs(() => filterNodes(sorted, q, 'all', labels)))
    typed.kept.push(cpuMs(() => grid.sync(table.nodes, { ...view, q })))
  }
  const keystroke = { full: typed.full[6], kept: typed.kept[6] }
  const cleared = {
    full: cpuMs(() => filterNodes(sorted, '', 'all', labels)),
    kept: cpuMs(() => grid.sync(table.nodes, view)),
  }
  const sort = {
    full: cpuMs(() => filterNodes(sortNodes(table.nodes, 'cpu'), '', 'all', labels)),
    kept: cpuMs(() => grid.sync(table.nodes, { ...view, sort: 'cpu' })),
  }

  const ms = v => `${v.toFixed(1)} ms`
  const p = (xs, q) => percentile([...xs].sort((a, b) => a - b), q)
  console.log(`dashboard views: ${NODES} nodes (+ master), ${perTick} changed per message (${(CHANGING * 100).toFixed(0)} %), ${MESSAGES} messages, Node ${process.version}, CPU time`)
  console.log('                        full recompute     kept per changed node')
  console.log(`  first snapshot        ${ms(first.full).padStart(12)}       ${ms(first.kept).padStart(12)}`)
  console.log(`  per message p50       ${ms(p(perMessage.full, 50)).padStart(12)}       ${ms(p(perMessage.kept, 50)).padStart(12)}`)
  console.log(`  per message max       ${ms(p(perMessage.full, 100)).padStart(12)}       ${ms(p(perMessage.kept, 100)).padStart(12)}`)
  console.log(`  search "bench-4"      ${ms(keystroke.full).padStart(12)}       ${ms(keystroke.kept).padStart(12)}`)
  console.log(`  slowest keystroke     ${ms(Math.max(...typed.full)).padStart(12)}       ${ms(Math.max(...typed.kept)).padStart(12)}`)
  console.log(`  search cleared        ${ms(cleared.full).padStart(12)}       ${ms(cleared.kept).padStart(12)}`)
  console.log(`  sort: cpu             ${ms(sort.full).padStart(12)}       ${ms(sort.kept).padStart(12)}`)
}
finally {
  rmSync(dir, { recursive: true, force: true })
}
