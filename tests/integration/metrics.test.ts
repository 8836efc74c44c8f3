import { describe, expect, it } from 'vitest'
import { api, asAdmin, createAgent, createApiToken, expectError, report, server } from './helpers'

/** Parses Prometheus text exposition strictly enough to catch a malformed line. */
function parseProm(text: string): Map<string, number> {
  const series = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue
    const m = /^([a-zA-Z_:][\w:]*)(\{(?:[a-zA-Z_]\w*="(?:[^"\\]|\\.)*",?)*\})? (-?[\d.e+-]+|NaN|[+-]Inf)$/.exec(line)
    expect(m, `not Prometheus text: ${line}`).not.toBeNull()
    series.set(`${m![1]}${m![2] ?? ''}`, Number(m![3]))
  }
  return series
}

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
