import { test, expect, type APIRequestContext, type Page } from '@playwright/test'
import type { NodeView } from '../../shared/contracts/rest'
import { logIn } from './helpers'

/**
 * Seed 001's channels read by Chromium's own EventSource, as the seed's browser example does:
 * named events through addEventListener, and Last-Event-ID resumption, both with ?lastEventId=
 * on a new EventSource and with the header the browser sends itself when it reconnects.
 */

interface Agent { id: number, hostname: string, token: string }
interface Received { type: string, data: string, lastEventId: string }
interface Report { id: number, node_id: number, cpu_percent: number }

const NAMES = ['connected', 'stats', 'nodes', 'reports', 'logs', 'events', 'heartbeat', 'reset']
const ID = /^(\d+)-(\d+)$/

async function addNode(page: Page, hostname: string): Promise<Agent> {
  const response = await page.request.post('/api/v1/nodes', { data: { hostname } })
  expect(response.status()).toBe(201)
  const node = await response.json() as NodeView & { token: string }
  return { id: node.id, hostname: node.hostname, token: node.token }
}

async function report(request: APIRequestContext, agent: Agent, cpu: number): Promise<void> {
  const response = await request.post(`/api/v1/nodes/${agent.id}/stats`, { headers: { authorization: `Bearer ${agent.token}` }, data: { cpu_percent: cpu, disk_percent: 1 } })
  expect(response.status()).toBe(200)
}

/** Opens `new EventSource(url)` in the page as `window.__streams[key]`, recording every named event. */
async function openEventSource(page: Page, key: string, url: string): Promise<void> {
  await page.evaluate(({ key, url, names }) => {
    const w = window as unknown as { __streams: Record<string, { es: EventSource, events: Received[], errors: number }> }
    w.__streams ??= {}
    const entry = { es: new EventSource(url), events: [] as Received[], errors: 0 }
    for (const name of names) entry.es.addEventListener(name, e => entry.events.push({ type: e.type, data: (e as MessageEvent).data, lastEventId: (e as MessageEvent).lastEventId }))
    entry.es.onerror = () => entry.errors++
    w.__streams[key] = entry
  }, { key, url, names: NAMES })
}

const eventsOf = (page: Page, key: string) => page.evaluate(k => (window as unknown as { __streams: Record<string, { events: Received[] }> }).__streams[k]!.events, key)
const closeEventSource = (page: Page, key: string) => page.evaluate(k => (window as unknown as { __streams: Record<string, { es: EventSource }> }).__streams[k]!.es.close(), key)
const reportsOf = (events: Received[], agent: Agent) => events.filter(e => e.type === 'reports').map(e => ({ ...(JSON.parse(e.data) as Report), lastEventId: e.lastEventId })).filter(r => r.node_id === agent.id)

test.beforeEach(async ({ page }) => {
  await logIn(page)
})

test('EventSource on /stream/all receives stats, nodes, reports, the request log and the event log as named events with ids', async ({ page }) => {
  await openEventSource(page, 'all', '/stream/all')
  await expect.poll(async () => (await eventsOf(page, 'all')).map(e => e.type)[0]).toBe('connected')
  const agent = await addNode(page, `e2e-chan-${Date.now()}`)
  await report(page.request, agent, 42)
  await expect.poll(async () => new Set((await eventsOf(page, 'all')).map(e => e.type)), { timeout: 10_000 })
    .toEqual(new Set(['connected', 'stats', 'nodes', 'reports', 'logs', 'events']))

  const events = await eventsOf(page, 'all')
  for (const e of events) {
    expect(e.lastEventId, e.type).toMatch(ID)
    expect(() => JSON.parse(e.data), e.type).not.toThrow()
  }
  const registered = events.filter(e => e.type === 'events').flatMap(e => (JSON.parse(e.data) as { logs: { event_type: string, node_id: number, data: { hostname: string } }[] }).logs)
    .find(l => l.node_id === agent.id)
  expect(registered).toMatchObject({ event_type: 'node_registered', data: { hostname: agent.hostname } })
  const [mine] = reportsOf(events, agent)
  expect(mine).toMatchObject({ node_id: agent.id, cpu_percent: 42 })
  expect(ID.exec(mine!.lastEventId)![2]).toBe(String(mine!.id))
  // The report's answer in the request log: seed 001's fields, the node as provider.
  await expect.poll(async () => (await eventsOf(page, 'all')).filter(e => e.type === 'logs')
    .flatMap(e => (JSON.parse(e.data) as { logs: { provider_id: number, method: string, status_code: number, success: boolean }[] }).logs)
    .find(l => l.provider_id === agent.id), { timeout: 10_000 }).toMatchObject({ provider_id: agent.id, method: 'POST', status_code: 200, success: true })
  const stats = JSON.parse(events.find(e => e.type === 'stats')!.data) as { total_nodes: number, providers_total: number, nodes: { node_id: number }[] }
  expect(stats.nodes.length).toBe(Math.min(stats.total_nodes, 100))
  expect(stats.providers_total).toBe(stats.total_nodes)
  const nodes = JSON.parse(events.find(e => e.type === 'nodes')!.data) as { total: number, part: number, parts: number, offset: number, nodes: { id: number }[] }
  expect(nodes).toMatchObject({ part: 1, parts: 1, offset: 0 })
  expect(nodes.nodes.length).toBe(nodes.total)
  await closeEventSource(page, 'all')
})

test('reports sent while the EventSource was closed are replayed once, in order: ?lastEventId= and the browser\'s own Last-Event-ID', async ({ page }) => {
  const agent = await addNode(page, `e2e-chan-replay-${Date.now()}`)
  await openEventSource(page, 'first', '/stream/reports')
  // Live events reach only a connected stream: wait for the greeting before reporting.
  await expect.poll(async () => (await eventsOf(page, 'first')).map(e => e.type)[0]).toBe('connected')
  await report(page.request, agent, 1)
  await expect.poll(async () => reportsOf(await eventsOf(page, 'first'), agent).length).toBe(1)
  await closeEventSource(page, 'first')
  const first = await eventsOf(page, 'first')
  const last = first.at(-1)!.lastEventId

  // 1. A new EventSource that names the last id it saw in the URL, as the seed's example does.
  for (const cpu of [2, 3, 4]) await report(page.request, agent, cpu)
  await openEventSource(page, 'second', `/stream/reports?lastEventId=${encodeURIComponent(last)}`)
  await expect.poll(async () => reportsOf(await eventsOf(page, 'second'), agent).map(r => r.cpu_percent)).toEqual([2, 3, 4])
  await expect.poll(async () => (await eventsOf(page, 'second')).map(e => e.type)[0]).toBe('connected')
  await report(page.request, agent, 5)
  await expect.poll(async () => reportsOf(await eventsOf(page, 'second'), agent).map(r => r.cpu_percent)).toEqual([2, 3, 4, 5])
  const second = reportsOf(await eventsOf(page, 'second'), agent)
  expect(second.map(r => r.id)).toEqual([...second.map(r => r.id)].sort((a, b) => a - b))
  for (const r of second) expect(ID.exec(r.lastEventId)![2]).toBe(String(r.id))
  await closeEventSource(page, 'second')
  const resumeFrom = second.at(-1)!.lastEventId

  // 2. The browser's own reconnect: the first answer ends at once (after one message with an id),
  // so Chromium reconnects by itself with Last-Event-ID, and that request goes to the server. The
  // URL names no position, so the server can replay only from the header. (Chromium adds the
  // header below the layer Playwright intercepts, so the route cannot show it.)
  for (const cpu of [6, 7]) await report(page.request, agent, cpu)
  const sent: string[] = []
  await page.route('**/stream/reports', async (route) => {
    sent.push(route.request().url())
    if (sent.length === 1) {
      await route.fulfill({ status: 200, headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }, body: `retry: 200\nid: ${resumeFrom}\nevent: connected\ndata: {}\n\n` })
    }
    else await route.continue()
  })
  await openEventSource(page, 'third', '/stream/reports')
  await expect.poll(async () => reportsOf(await eventsOf(page, 'third'), agent).map(r => r.cpu_percent)).toEqual([6, 7])
  expect(sent.slice(0, 2).map(u => new URL(u).pathname + new URL(u).search)).toEqual(['/stream/reports', '/stream/reports'])
  await report(page.request, agent, 8)
  await expect.poll(async () => reportsOf(await eventsOf(page, 'third'), agent).map(r => r.cpu_percent)).toEqual([6, 7, 8])
  const third = await eventsOf(page, 'third')
  expect(third.filter(e => e.type === 'connected').length, 'the stub\'s connected, then the server\'s').toBe(2)
  expect(third.some(e => e.type === 'reset')).toBe(false)
  await closeEventSource(page, 'third')
  await page.unroute('**/stream/reports')
})
