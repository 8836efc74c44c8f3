#!/usr/bin/env node
// `npm run check:cluster -- [baseUrl]`: validates seed 004's three endpoints against a running
// NodePulse (the seed's test_cluster_nodes.py, in our stack). Authenticates with NODEPULSE_TOKEN
// (an API token, sent as Bearer). Exit 0: every shape holds; 1: a shape is wrong; 2: cannot ask.
// Plain Node, so it runs anywhere NodePulse's API is reachable; the shapes mirror shared/contracts/seed004.ts.

const base = (process.argv.slice(2).find(a => !a.startsWith('-')) ?? process.env.NODEPULSE_URL ?? 'http://localhost:3000').replace(/\/+$/, '')
const token = process.env.NODEPULSE_TOKEN
const problems = []
let checks = 0

const isObj = v => typeof v === 'object' && v !== null && !Array.isArray(v)
const isStr = v => typeof v === 'string'
const isNum = v => typeof v === 'number' && Number.isFinite(v)
const isTime = v => isStr(v) && !Number.isNaN(Date.parse(v))

function expect(ok, where, what) {
  checks++
  if (!ok) problems.push(`${where}: ${what}`)
  return ok
}

async function get(path) {
  let res
  try {
    res = await fetch(`${base}${path}`, { headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, signal: AbortSignal.timeout(15_000) })
  }
  catch (error) {
    console.error(`cannot reach ${base}${path}: ${error.cause?.code ?? error.message}`)
    process.exit(2)
  }
  const body = await res.json().catch(() => undefined)
  if (res.status === 401 || res.status === 403) {
    console.error(`${path}: ${res.status} ${body?.message ?? ''}\nset NODEPULSE_TOKEN to an API token (Tokens page) and run again`)
    process.exit(2)
  }
  return { status: res.status, body }
}

function envelope(where, res) {
  if (!expect(res.status === 200, where, `status ${res.status}${res.body?.message ? ` (${res.body.message})` : ''}, expected 200`)) return undefined
  const b = res.body
  expect(isObj(b) && b.status === 'success', where, 'status must be "success"')
  expect(isTime(b?.timestamp), where, 'timestamp must be an ISO time')
  expect(isObj(b?.data), where, 'data must be an object')
  return b?.data
}

function memoryOk(where, m) {
  if (!expect(isObj(m), where, 'memory must be an object')) return
  for (const k of ['used', 'max']) expect(isStr(m[k]) && /^\d+(\.\d)?(B|KB|MB|GB|TB|PB)$/.test(m[k]), where, `memory.${k} must be text like "2.1GB"`)
  for (const k of ['usedBytes', 'maxBytes', 'percent']) expect(isNum(m[k]) && m[k] >= 0, where, `memory.${k} must be a number ≥ 0`)
}

function metricsOk(where, n) {
  expect(isStr(n.nodeId) && isStr(n.nodeAddress), where, 'nodeId and nodeAddress must be strings')
  expect(n.role === 'master' || n.role === 'slave', where, 'role must be master or slave')
  expect(isStr(n.slots), where, 'slots must be a string')
  if (n.status !== 'online') return expect((n.status === 'offline' || n.status === 'error') && isStr(n.error), where, 'a node not online must be offline or error with an error message')
  memoryOk(where, n.memory)
  expect(isObj(n.cpu) && isNum(n.cpu.percent) && isNum(n.cpu.cores), where, 'cpu must hold numbers percent and cores')
  for (const k of ['connections', 'opsPerSec', 'keyCount']) expect(isNum(n[k]) && n[k] >= 0, where, `${k} must be a number ≥ 0`)
  expect(isStr(n.uptime) && /^\d+[dhms]( \d+[hms])?$/.test(n.uptime), where, 'uptime must be text like "3d 14h"')
}

// 1. Discovery
const list = envelope('GET /api/cluster/nodes?kind=valkey', await get('/api/cluster/nodes?kind=valkey'))
const nodes = Array.isArray(list?.nodes) ? list.nodes : []
if (list) {
  expect(Array.isArray(list.nodes), 'nodes list', 'data.nodes must be an array')
  expect(isTime(list.timestamp), 'nodes list', 'data.timestamp must be an ISO time')
  if (!nodes.length) console.log(`no Valkey nodes${list.message ? `: ${list.message}` : ''}`)
}
const ids = new Set(nodes.map(n => n.nodeId))
for (const n of nodes) {
  const where = `node ${n.nodeId ?? '?'}`
  expect(isStr(n.nodeId) && /^[0-9a-f]{40}$/.test(n.nodeId), where, 'nodeId must be 40 hex characters')
  expect(isStr(n.nodeAddress) && !n.nodeAddress.includes('@'), where, 'nodeAddress must be host:port without the bus port')
  expect(n.role === 'master' || n.role === 'slave', where, 'role must be master or slave')
  expect(n.status === 'connected' || n.status === 'disconnected', where, 'status must be connected or disconnected')
  expect(Array.isArray(n.flags) && n.flags.every(isStr), where, 'flags must be a list of strings')
  expect(!('kind' in n), where, 'a Valkey entry carries exactly the seed\'s fields (no kind)')
  if (n.role === 'master') {
    expect(isStr(n.slots), where, 'a master must have slots')
    expect(Array.isArray(n.replicas) && n.replicas.every(r => ids.has(r)), where, 'replicas must list known node ids')
  }
  else expect(ids.has(n.masterNodeId), where, 'a replica\'s masterNodeId must be a known node')
}

// 2. All metrics
const all = envelope('GET /api/cluster/nodes/metrics', await get('/api/cluster/nodes/metrics'))
if (all) {
  const info = all.clusterInfo
  if (expect(isObj(info), 'clusterInfo', 'must be an object')) {
    for (const k of ['totalNodes', 'mastersCount', 'slavesCount']) expect(Number.isInteger(info[k]) && info[k] >= 0, 'clusterInfo', `${k} must be a whole number`)
    expect(info.totalNodes === info.mastersCount + info.slavesCount, 'clusterInfo', 'totalNodes must be mastersCount + slavesCount')
    expect(info.clusterState === 'ok' || info.clusterState === 'degraded', 'clusterInfo', 'clusterState must be ok or degraded')
  }
  expect(Array.isArray(all.nodes), 'metrics', 'data.nodes must be an array')
  for (const n of all.nodes ?? []) metricsOk(`metrics of ${n.nodeId ?? '?'}`, n)
  console.log(`cluster: ${info?.totalNodes} nodes (${info?.mastersCount} masters, ${info?.slavesCount} replicas), state ${info?.clusterState}`)
}

// 3. One node's metrics, for a real id from discovery, and 404 for an unknown one
if (nodes[0]) {
  const one = envelope(`GET /api/nodes/${nodes[0].nodeId}/metrics`, await get(`/api/nodes/${nodes[0].nodeId}/metrics`))
  if (one) {
    expect(one.nodeId === nodes[0].nodeId, 'one node', 'must answer the node asked for')
    metricsOk(`metrics of ${nodes[0].nodeId}`, one)
  }
}
const unknown = await get(`/api/nodes/${'0'.repeat(40)}/metrics`)
expect([404, 503].includes(unknown.status), 'unknown node', `status ${unknown.status}, expected 404 (or 503 when Valkey is not configured)`)

if (problems.length) {
  console.error(`${problems.length} of ${checks} checks failed against ${base}:`)
  for (const p of problems) console.error(`  - ${p}`)
  process.exit(1)
}
console.log(`all ${checks} checks passed against ${base}`)
