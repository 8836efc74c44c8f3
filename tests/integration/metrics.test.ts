import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, asAdmin, createAgent, createApiToken, expectError, report, server } from './helpers'
import { startDedicated, type Dedicated } from './support/dedicated'
import { parseProm } from './support/prom'

describe('GET /metrics', () => {
  it('needs a token or session unless NODEPULSE_METRICS_PUBLIC=true', async () => {
    expectError(await api('GET', '/metrics'), 401)
    expectError(await api('GET', '/metrics', { auth: { bearer: 'np_nope' } }), 401)
  })

  it('serves the SSE, node, ingest and process series as Prometheus text', async () => {
    const agent = await createAgent()
    await report(agent.id, agent.token, { json: { cpu_percent: 42.5, memory_percent: 10, disk_percent: 20 } })
    await report(agent.id, 'npa_wrong', { json: { cpu_percent: 1, disk_percent: 1 } })
    const token = await createApiToken('viewer')
    const res = await fetch(`${server.baseURL}/metrics`, { headers: { authorization: `Bearer ${token.token}` } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const series = parseProm(await res.text())
    expect(series.has('sse_clients_total')).toBe(true)
    expect(series.has('sse_disconnections_total{reason="slow"}')).toBe(true)
    expect(series.get(`nodepulse_node_up{node="${agent.id}",hostname="${agent.hostname}"}`)).toBe(1)
    expect(series.get(`nodepulse_node_cpu_percent{node="${agent.id}",hostname="${agent.hostname}"}`)).toBe(42.5)
    expect(series.get('nodepulse_reports_rejected_total{status="401"}')).toBeGreaterThanOrEqual(1)
    expect(series.get('nodepulse_reports_total')).toBeGreaterThanOrEqual(1)
    expect(series.get('process_resident_memory_bytes')).toBeGreaterThan(0)
    // The only instance is the leader: it ran housekeeping when it started.
    expect(series.get('nodepulse_housekeeping_last_run_timestamp_seconds')).toBeGreaterThan(0)
    expect(series.get('nodepulse_housekeeping_last_run_timestamp_seconds')).toBeLessThanOrEqual(Date.now() / 1000)
    const master = [...series.keys()].find(k => k.startsWith('nodepulse_node_up{') && k.includes(`hostname="${server.masterHostname}"`))
    expect(master).toBeDefined()
    expect(series.get(master!)).toBe(1)
  })

  it('is readable with the admin session too', async () => {
    const res = await api('GET', '/metrics', { auth: await asAdmin(), headers: { accept: 'text/plain' } })
    expect(res.status).toBe(200)
    expect(res.text).toContain('# TYPE sse_events_sent_total counter')
  })
})

describe('GET /metrics with NODEPULSE_METRICS_PUBLIC=true', () => {
  let d: Dedicated
  beforeAll(async () => {
    d = await startDedicated('metrics-public', { NODEPULSE_METRICS_PUBLIC: 'true', NODEPULSE_SAMPLE_INTERVAL: '3600' })
  })
  afterAll(() => d?.stop())

  it('serves the Prometheus text without a token, and opens nothing else', async () => {
    const res = await d.call('GET', '/metrics', { auth: null, headers: { accept: 'text/plain' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const series = parseProm(res.text)
    expect(series.get('sse_clients_total')).toBe(0)
    const master = [...series.keys()].find(k => k.startsWith('nodepulse_node_up{') && k.includes(`hostname="${d.srv.info.masterHostname}"`))
    expect(master && series.get(master)).toBe(1)
    // A wrong token is not worse than none here: the endpoint is public.
    expect((await d.call('GET', '/metrics', { auth: { bearer: 'np_nope' } })).status).toBe(200)
    for (const path of ['/api/realtime/metrics', '/api/realtime/hub/stats', '/api/v1/nodes', '/stream/stats']) {
      expect((await d.call('GET', path, { auth: null })).status, path).toBe(401)
    }
  })
})
