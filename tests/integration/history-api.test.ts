/**
 * The history and uptime APIs over HTTP on the project's server: a node's samples reported by its
 * agent come back as buckets, viewers may read, and every bad input is a 4xx naming the field.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import type { AlertRuleView } from '../../shared/contracts/alerts'
import type { FleetHistory, NodeHistory, NodeUptime } from '../../shared/contracts/history'
import { api, asAdmin, createAgent, createUser, expectError, report, sample, unique, type TestUser } from './helpers'

let viewer: TestUser
let node: Awaited<ReturnType<typeof createAgent>>
let other: Awaited<ReturnType<typeof createAgent>>
const label = unique('hist')

beforeAll(async () => {
  viewer = await createUser('viewer')
  node = await createAgent(unique('history'), { group: label })
  other = await createAgent(unique('history'), { group: label })
  // One sample a minute for 30 minutes, cpu rising 1, 2, … 30, with load in the detail.
  const samples = Array.from({ length: 30 }, (_, i) => ({ ...sample((30 - i) * 60, { cpu_percent: i + 1 }), detail: { load: { '1m': i / 10, '5m': 0, '15m': 0 } } }))
  expect((await report(node.id, node.token, { json: { samples } })).status).toBe(200)
  expect((await report(other.id, other.token, { json: sample(90, { cpu_percent: 50 }) })).status).toBe(200)
})

describe('GET /api/v1/nodes/{id}/history', () => {
  it('returns the reported figures in buckets, for a viewer', async () => {
    const from = new Date(Date.now() - 40 * 60_000).toISOString()
    const res = await api<NodeHistory>('GET', `/api/v1/nodes/${node.id}/history?metrics=cpu_percent,load1&from=${from}&points=100`, { auth: viewer.auth })
    expect(res.status, res.text).toBe(200)
    expect(res.body).toMatchObject({ node_id: node.id, from, tier: { name: 'raw', width_seconds: 0 }, step_seconds: 30 })
    const [cpu, load] = res.body.series
    expect(cpu!.metric).toBe('cpu_percent')
    expect(load!.metric).toBe('load1')
    const values = cpu!.buckets.filter(b => b.avg !== null).map(b => b.avg)
    expect(values).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
    expect(load!.buckets.filter(b => b.avg !== null).map(b => b.max)).toEqual(Array.from({ length: 30 }, (_, i) => i / 10))
    expect(cpu!.buckets.length).toBeLessThanOrEqual(100)
    // Between two samples a minute apart, every other 30 s bucket is empty and listed as a gap.
    expect(cpu!.gaps.length).toBeGreaterThanOrEqual(29)
  })

  it('defaults to the last 24 hours of cpu, memory and disk', async () => {
    const res = await api<NodeHistory>('GET', `/api/v1/nodes/${node.id}/history`, { auth: viewer.auth })
    expect(res.status, res.text).toBe(200)
    expect(res.body.series.map(s => s.metric)).toEqual(['cpu_percent', 'memory_percent', 'disk_percent'])
    expect(new Date(res.body.to).getTime() - new Date(res.body.from).getTime()).toBe(86_400_000)
    expect(res.body.series[0]!.buckets.length).toBeLessThanOrEqual(300)
  })

  it('refuses bad metrics, ranges and points with 400 naming the parameter', async () => {
    const auth = viewer.auth
    expectError(await api('GET', `/api/v1/nodes/${node.id}/history?metrics=cpu_percent,bogus`, { auth }), 400, 'metrics.1', 'must be one of')
    expectError(await api('GET', `/api/v1/nodes/${node.id}/history?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`, { auth }), 400, 'from: must be before to')
    expectError(await api('GET', `/api/v1/nodes/${node.id}/history?from=soon`, { auth }), 400, 'from:')
    expectError(await api('GET', `/api/v1/nodes/${node.id}/history?to=tomorrow`, { auth }), 400, 'to:')
    expectError(await api('GET', `/api/v1/nodes/${node.id}/history?points=0`, { auth }), 400, 'points: must be at least 1')
    expectError(await api('GET', `/api/v1/nodes/${node.id}/history?points=1&points=2`, { auth }), 400, 'points')
    expectError(await api('GET', `/api/v1/nodes/${node.id}/history?from=2001-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`, { auth }), 400, 'from: must be at most 3660 days before to')
  })

  it('answers 404 for an unknown node, 400 for a bad id and 401 without credentials', async () => {
    expectError(await api('GET', '/api/v1/nodes/999999/history', { auth: viewer.auth }), 404, 'Node 999999 not found')
    expectError(await api('GET', '/api/v1/nodes/abc/history', { auth: viewer.auth }), 400, 'id')
    expect((await api('GET', `/api/v1/nodes/${node.id}/history`)).status).toBe(401)
  })
})

describe('GET /api/v1/history', () => {
  it('compares one metric across the nodes of a label, on shared buckets', async () => {
    const res = await api<FleetHistory>('GET', `/api/v1/history?metric=cpu_percent&label=group:${label}&from=${Date.now() - 3_600_000}&points=12`, { auth: viewer.auth })
    expect(res.status, res.text).toBe(200)
    // Handed over as text built by the service: JSON as JSON.stringify writes it, sent as JSON.
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(JSON.stringify(res.body)).toBe(res.text)
    expect(res.body.metric).toBe('cpu_percent')
    expect(res.body.nodes.map(n => n.node_id)).toEqual([node.id, other.id])
    expect(res.body.nodes[0]!.hostname).toBe(node.hostname)
    expect(res.body.nodes[0]!.buckets.length).toBe(res.body.nodes[1]!.buckets.length)
    expect(res.body.nodes[0]!.buckets.length).toBeLessThanOrEqual(12)
    expect(res.body.nodes[1]!.buckets.filter(b => b.avg !== null).map(b => b.avg)).toEqual([50])
    const byIds = await api<FleetHistory>('GET', `/api/v1/history?metric=cpu_percent&nodes=${other.id}`, { auth: viewer.auth })
    expect(byIds.body.nodes.map(n => n.node_id)).toEqual([other.id])
    expect(Object.keys(byIds.body.nodes[0]!.buckets[0]!)).toEqual(['t', 'avg', 'min', 'max'])
  })

  it('gives only the figures asked for, in their usual order', async () => {
    const res = await api<FleetHistory>('GET', `/api/v1/history?metric=cpu_percent&nodes=${other.id}&figures=max,avg&from=${Date.now() - 3_600_000}&points=12`, { auth: viewer.auth })
    expect(res.status, res.text).toBe(200)
    const buckets = res.body.nodes[0]!.buckets
    expect(buckets.every(b => Object.keys(b).join() === 't,avg,max')).toBe(true)
    expect(buckets.filter(b => b.avg !== null).map(b => [b.avg, b.max])).toEqual([[50, 50]])
  })

  it('refuses a missing or unknown metric, nodes together with label, bad ids and unknown nodes', async () => {
    const auth = await asAdmin()
    expectError(await api('GET', '/api/v1/history', { auth }), 400, 'metric: is required')
    expectError(await api('GET', '/api/v1/history?metric=cpu', { auth }), 400, 'metric: must be one of')
    expectError(await api('GET', `/api/v1/history?metric=cpu_percent&nodes=${node.id}&label=a:b`, { auth }), 400, 'label: give nodes or label, not both')
    expectError(await api('GET', '/api/v1/history?metric=cpu_percent&nodes=1,x', { auth }), 400, 'nodes.1')
    expectError(await api('GET', '/api/v1/history?metric=cpu_percent&label=nocolon', { auth }), 400, 'label: must be name:value')
    expectError(await api('GET', `/api/v1/history?metric=cpu_percent&nodes=${node.id},999998`, { auth }), 404, 'Node 999998 not found')
    expectError(await api('GET', '/api/v1/history?metric=cpu_percent&figures=avg,median', { auth }), 400, 'figures.1: must be a list of avg, min, max')
    expectError(await api('GET', '/api/v1/history?metric=cpu_percent&figures=', { auth }), 400, 'figures')
  })
})

describe('GET /api/v1/nodes/{id}/uptime', () => {
  it('gives today\'s online share for a node that reports, for a viewer', async () => {
    const res = await api<NodeUptime>('GET', `/api/v1/nodes/${node.id}/uptime?days=3`, { auth: viewer.auth })
    expect(res.status, res.text).toBe(200)
    expect(res.body.days).toHaveLength(3)
    expect(res.body.days.at(-1)!.date).toBe(new Date().toISOString().slice(0, 10))
    // Created moments ago: only today is known, and the two days before are null.
    expect(res.body.days.slice(0, 2).map(d => d.online_share)).toEqual([null, null])
    expect(res.body.days.at(-1)!.known_seconds).toBeGreaterThanOrEqual(0)
  })

  it('refuses bad days and unknown nodes', async () => {
    expectError(await api('GET', `/api/v1/nodes/${node.id}/uptime?days=0`, { auth: viewer.auth }), 400, 'days: must be at least 1')
    expectError(await api('GET', `/api/v1/nodes/${node.id}/uptime?days=9999`, { auth: viewer.auth }), 400, 'days: must be at most 731')
    expectError(await api('GET', '/api/v1/nodes/999999/uptime', { auth: viewer.auth }), 404, 'not found')
  })
})

describe('/api/v1/alerts/rules', () => {
  const rule = { name: unique('cpu'), metric: 'cpu_percent', comparison: '>', value: 90, duration_seconds: 300 }

  it('lets an admin create, read, change and delete a rule, and a viewer read it', async () => {
    const admin = await asAdmin()
    const created = await api<AlertRuleView>('POST', '/api/v1/alerts/rules', { auth: admin, json: { ...rule, nodes: { labels: { group: label } } } })
    expect(created.status, created.text).toBe(201)
    expect(created.body).toMatchObject({ ...rule, nodes: { labels: { group: label } }, per_core: false, severity: 'warning', enabled: true, firing: [] })
    const id = created.body.id
    const listed = await api<AlertRuleView[]>('GET', '/api/v1/alerts/rules', { auth: viewer.auth })
    expect(listed.body.map(r => r.id)).toContain(id)
    expect((await api<AlertRuleView>('GET', `/api/v1/alerts/rules/${id}`, { auth: viewer.auth })).body.name).toBe(rule.name)
    const changed = await api<AlertRuleView>('PATCH', `/api/v1/alerts/rules/${id}`, { auth: admin, json: { value: 95, severity: 'error' } })
    expect(changed.status, changed.text).toBe(200)
    expect(changed.body).toMatchObject({ value: 95, severity: 'error' })
    expect((await api('DELETE', `/api/v1/alerts/rules/${id}`, { auth: admin })).status).toBe(204)
    expectError(await api('GET', `/api/v1/alerts/rules/${id}`, { auth: viewer.auth }), 404, `Alert rule ${id} not found`)
  })

  it('refuses viewers\' writes, bad fields (422 naming them), taken names and unknown ids', async () => {
    const admin = await asAdmin()
    expectError(await api('POST', '/api/v1/alerts/rules', { auth: viewer.auth, json: rule }), 403)
    expectError(await api('POST', '/api/v1/alerts/rules', { auth: admin, json: { ...rule, metric: 'cpu' } }), 422, 'metric: must be one of')
    expectError(await api('POST', '/api/v1/alerts/rules', { auth: admin, json: { ...rule, duration_seconds: 90 } }), 422, 'duration_seconds: must be whole minutes')
    expectError(await api('POST', '/api/v1/alerts/rules', { auth: admin, json: { ...rule, comparison: '==' } }), 422, 'comparison')
    expectError(await api('POST', '/api/v1/alerts/rules', { auth: admin, json: { ...rule, nodes: { ids: [] } } }), 422, 'nodes')
    expectError(await api('POST', '/api/v1/alerts/rules', { auth: admin, json: { ...rule, extra: 1 } }), 422, 'extra')
    expectError(await api('POST', '/api/v1/alerts/rules', { auth: admin, json: { ...rule, per_core: 'yes' } }), 422, 'per_core: must be true or false')
    expectError(await api('POST', '/api/v1/alerts/rules', { auth: admin, raw: '{' }), 400, 'Malformed JSON')
    expect((await api('POST', '/api/v1/alerts/rules', { auth: admin, json: rule })).status).toBe(201)
    expectError(await api('POST', '/api/v1/alerts/rules', { auth: admin, json: rule }), 409, 'already exists')
    expectError(await api('PATCH', '/api/v1/alerts/rules/999999', { auth: admin, json: { value: 1 } }), 404, 'Alert rule 999999 not found')
    expectError(await api('PATCH', '/api/v1/alerts/rules/1', { auth: admin, json: {} }), 422, 'give at least one field')
    expectError(await api('DELETE', '/api/v1/alerts/rules/999999', { auth: admin }), 404)
  })

  it('the server\'s leader rolls up and evaluates: a node hot for the last whole minutes raises threshold_exceeded in the event log', async () => {
    const hot = await createAgent(unique('hot'))
    const minute = Math.floor(Date.now() / 60_000) * 60_000
    // Hot through the current minute too (never in the future), so the newest whole minute is hot
    // whether the leader evaluates before or after the next minute begins.
    const samples = [2, 1, 0].flatMap(m => [0, 20, 40].map(s => minute - m * 60_000 + s * 1000)).filter(t => t <= Date.now())
      .map(t => ({ ...sample(0, { cpu_percent: 97 }), timestamp: new Date(t).toISOString() }))
    expect((await report(hot.id, hot.token, { json: { samples } })).status).toBe(200)
    const created = await api<AlertRuleView>('POST', '/api/v1/alerts/rules', { auth: await asAdmin(), json: { ...rule, name: unique('hot'), duration_seconds: 60, nodes: { ids: [hot.id] } } })
    expect(created.status, created.text).toBe(201)
    const deadline = Date.now() + 100_000
    let found: { event_type: string, data: Record<string, unknown> } | undefined
    while (!found && Date.now() < deadline) {
      const page = await api<{ events: { event_type: string, data: Record<string, unknown> }[] }>('GET', `/api/v1/events?node_id=${hot.id}&event_type=threshold_exceeded`, { auth: viewer.auth })
      found = page.body.events[0]
      if (!found) await new Promise(r => setTimeout(r, 1000))
    }
    expect(found, 'a threshold_exceeded event within 100 s').toBeDefined()
    expect(found!.data).toMatchObject({ rule_id: created.body.id, metric: 'cpu_percent', value: 97 })
    expect((await api<AlertRuleView>('GET', `/api/v1/alerts/rules/${created.body.id}`, { auth: viewer.auth })).body.firing.map(f => f.node_id)).toEqual([hot.id])
  }, 130_000)
})
