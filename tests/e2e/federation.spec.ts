/**
 * Seed 003's own test plan, points 1–3, in the browser: three NodePulse servers (an aggregator and
 * two members, each with agents of its own pushing stats) and the built agent in `--listen` mode as
 * a third member; the aggregator's dashboard shows the nodes and readings of all, and the "Node: All
 * | …" selector narrows cards, summary, readings and events to one member or one node. A member that
 * stops is marked unreachable on its nodes' cards, with the reason.
 * SHOTS_DIR=<dir> also saves screenshots (1440 and 390 px, light and dark).
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, expect, type APIRequestContext, type Locator, type Page } from '@playwright/test'
import type { CreatedNode } from '../../shared/contracts/rest'
import { killAgents, startAgent } from '../integration/support/agent'
import { freePort } from '../integration/support/server'
import { adminApi, logIn, pickScope, shoot } from './helpers'
import { startOwnServer, type OwnServer } from './server'

interface Site { server: OwnServer, api: APIRequestContext, viewerToken: string }
interface Pusher { node: CreatedNode, stop: () => Promise<void> }

async function viewerToken(api: APIRequestContext): Promise<string> {
  const res = await api.post('/api/v1/tokens', { data: { name: 'aggregator', role: 'viewer' } })
  expect(res.status()).toBe(201)
  return (await res.json() as { token: string }).token
}

/** Adds an agent node and reports `cpu` for it every second, as its agent would, until stopped. */
async function pushingNode(api: APIRequestContext, hostname: string, cpu: number): Promise<Pusher> {
  const res = await api.post('/api/v1/nodes', { data: { hostname } })
  expect(res.status()).toBe(201)
  const node = await res.json() as CreatedNode
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      const sent = await api.post(`/api/v1/nodes/${node.id}/stats`, {
        headers: { authorization: `Bearer ${node.token}` }, data: { cpu_percent: cpu, memory_percent: 40, disk_percent: 50, uptime_seconds: 100 },
      }).catch(() => null)
      if (sent && sent.status() !== 200 && !stopped) throw new Error(`report of ${hostname} answered ${sent.status()}`)
      await new Promise(resolve => setTimeout(resolve, 1000))
    }
  })()
  return { node, stop: async () => { stopped = true; await loop } }
}

const card = (page: Page, hostname: string): Locator => page.locator(`[data-testid="node-card"][data-hostname="${hostname}"]`)
const cards = (page: Page): Locator => page.getByTestId('node-card')

async function hostnames(locator: Locator, attribute = 'data-hostname'): Promise<string[]> {
  return (await locator.evaluateAll((els, name) => els.map(e => e.getAttribute(name) ?? ''), attribute)).sort()
}

test('the aggregator\'s dashboard shows every member\'s nodes and readings, and filters by member and by node', async ({ browser }) => {
  test.setTimeout(420_000)
  const servers: OwnServer[] = []
  const pushers: Pusher[] = []
  const apis: APIRequestContext[] = []
  const dir = mkdtempSync(join(tmpdir(), 'nodepulse-e2e-fed-'))
  try {
    // 1. Two members, each with agents of its own.
    const sites: Record<'site-a' | 'site-b', Site> = {} as never
    for (const [name, host] of [['site-a', 'alpha-host'], ['site-b', 'beta-host']] as const) {
      const server = await startOwnServer({ NODEPULSE_HOSTNAME: host })
      servers.push(server)
      const api = await adminApi(server.baseURL)
      apis.push(api)
      sites[name] = { server, api, viewerToken: await viewerToken(api) }
    }
    pushers.push(await pushingNode(sites['site-a'].api, 'web-01', 11), await pushingNode(sites['site-a'].api, 'web-02', 12))
    pushers.push(await pushingNode(sites['site-b'].api, 'db-01', 21))

    // An agent in --listen mode (loopback, no mDNS), its readings pulled like a member's.
    const edgePort = await freePort()
    const edgeToken = randomBytes(24).toString('hex')
    const edge = startAgent(['--listen', String(edgePort), '--listen-host', '127.0.0.1', '--no-announce', '--interval', '1', '--spool-dir', join(dir, 'edge-spool')], { NODEPULSE_LISTEN_TOKEN: edgeToken })
    await edge.waitFor('serving the member API')

    // The aggregator, polling both every second, with an agent of its own.
    const config = join(dir, 'nodepulse.yaml')
    writeFileSync(config, [
      'cluster:',
      '  enabled: true',
      '  aggregation_interval: 1',
      '  request_timeout: 3',
      '  discovery_method: manual',
      '  manual_nodes:',
      ...Object.entries(sites).map(([name, s]) => `    - { name: ${name}, url: "${s.server.baseURL}", token: "${s.viewerToken}" }`),
      `    - { name: edge, url: "http://127.0.0.1:${edgePort}", token: "${edgeToken}" }`,
    ].join('\n'))
    const hub = await startOwnServer({ NODEPULSE_HOSTNAME: 'hub-host', NODEPULSE_CONFIG: config })
    servers.push(hub)
    const hubApi = await adminApi(hub.baseURL)
    apis.push(hubApi)
    pushers.push(await pushingNode(hubApi, 'hub-agent', 31))

    const context = await browser.newContext({ baseURL: hub.baseURL, viewport: { width: 1440, height: 1000 } })
    try {
      const page = await context.newPage()
      await logIn(page)

      // 2. Every node of all three servers, member nodes tagged with their member.
      const siteA = ['site-a / alpha-host', 'site-a / web-01', 'site-a / web-02']
      const siteB = ['site-b / beta-host', 'site-b / db-01']
      const local = ['hub-agent', 'hub-host']
      const edgeNode = `edge / ${hostname()}`
      await expect.poll(() => hostnames(cards(page)), { timeout: 30_000 }).toEqual([...local, ...siteA, ...siteB, edgeNode].sort())
      const web01 = card(page, 'site-a / web-01')
      await expect(web01.getByTestId('member-tag')).toHaveText('site-a')
      await expect(web01.getByTestId('card-hostname')).toHaveText('web-01')
      await expect(web01).toHaveAttribute('aria-label', /^web-01 on member site-a, online/)
      await expect(web01.getByTestId('card-cpu')).toHaveText('11 %')
      await expect(card(page, 'hub-agent').getByTestId('member-tag')).toHaveCount(0)
      await expect(card(page, edgeNode).getByTestId('member-tag')).toHaveText('edge')
      await expect(page.getByTestId('summary-total')).toHaveText('8')

      // …and the readings of all, each with its node.
      const readings = page.getByTestId('reading-row')
      const idOf = async (hostname: string) => Number(await card(page, hostname).getAttribute('data-node-id'))
      const readingIds = async () => new Set(await readings.evaluateAll(rows => rows.map(r => Number(r.getAttribute('data-node-id')))))
      const everyId = await Promise.all([...local, ...siteA, ...siteB, edgeNode].map(idOf))
      await expect.poll(async () => { const ids = await readingIds(); return everyId.every(id => ids.has(id)) }, { timeout: 20_000 }).toBe(true)
      const webRow = readings.filter({ has: page.locator(`a[title="site-a / web-01"]`) }).first()
      await expect(webRow.getByTestId('member-tag')).toHaveText('site-a')
      await expect(webRow.getByRole('link')).toHaveText('web-01')
      await expect(webRow.getByTestId('reading-cpu')).toHaveText('11 %')

      // An event on a member's node arrives on the aggregator, named with its member and node.
      const web01Node = pushers[0]!.node
      const sent = await sites['site-a'].api.post(`/api/v1/nodes/${web01Node.id}/events`, { headers: { authorization: `Bearer ${web01Node.token}` }, data: { event_type: 'error_report', message: 'e2e: disk on fire at site-a' } })
      expect(sent.status()).toBeLessThan(300)
      const fire = page.getByTestId('dash-event').filter({ hasText: 'e2e: disk on fire at site-a' })
      await expect(fire).toHaveCount(1, { timeout: 20_000 })
      await expect(fire.getByTestId('dash-event-node')).toHaveText('site-a / web-01')

      await shoot(page, 'federation', 'all')

      // 3. Filter by member: only that member's cards, summary, readings and events.
      const scope = page.getByTestId('dash-scope')
      await pickScope(page, 'All of site-a')
      await expect(page).toHaveURL(/[?&]scope=member:site-a(&|$)/)
      const onlySiteA = async () => {
        await expect.poll(() => hostnames(cards(page)), { timeout: 10_000 }).toEqual(siteA)
        expect(await hostnames(cards(page), 'data-member')).toEqual(['site-a', 'site-a', 'site-a'])
        await expect(page.getByTestId('summary-total')).toHaveText('3')
        await expect(page.getByTestId('dash-count')).toHaveText('3 nodes')
        const siteAIds = new Set(await Promise.all(siteA.map(idOf)))
        await expect.poll(async () => [...await readingIds()].every(id => siteAIds.has(id)) && (await readingIds()).size === 3, { timeout: 10_000 }).toBe(true)
        await expect(fire).toHaveCount(1)
      }
      await onlySiteA()
      await shoot(page, 'federation', 'member')

      // The selection is in the URL: a reload (or a shared link) keeps it.
      await page.reload()
      await expect(scope).toHaveAttribute('data-scope', 'member:site-a')
      await expect(scope).toHaveValue('All of site-a')
      await onlySiteA()

      // The other member's view has neither site-a's nodes nor its event.
      await pickScope(page, 'All of site-b')
      await expect.poll(() => hostnames(cards(page)), { timeout: 10_000 }).toEqual(siteB)
      await expect(fire).toHaveCount(0)

      // Filter by node, from the keyboard: the picker opens on "All of site-b", the next choice is its first node.
      await scope.focus()
      await page.keyboard.press('ArrowDown')
      await page.keyboard.press('ArrowDown')
      await page.keyboard.press('Enter')
      await expect.poll(() => hostnames(cards(page)), { timeout: 10_000 }).toEqual(['site-b / beta-host'])
      await page.keyboard.press('ArrowDown')
      await page.keyboard.press('ArrowDown')
      await page.keyboard.press('Enter')
      await expect.poll(() => hostnames(cards(page)), { timeout: 10_000 }).toEqual(['site-b / db-01'])
      const dbId = await idOf('site-b / db-01')
      await expect(page).toHaveURL(new RegExp(`[?&]scope=node:${dbId}(&|$)`))
      await expect(page.getByTestId('summary-total')).toHaveText('1')
      await expect(page.getByTestId('summary-cpu')).toHaveText('21 %')
      await expect.poll(async () => [...await readingIds()], { timeout: 10_000 }).toEqual([dbId])
      await expect(readings.first().getByTestId('reading-cpu')).toHaveText('21 %')

      // The listening agent, a member of its own.
      await pickScope(page, 'All of edge')
      await expect.poll(() => hostnames(cards(page)), { timeout: 10_000 }).toEqual([edgeNode])
      const edgeId = await idOf(edgeNode)
      await expect.poll(async () => [...await readingIds()], { timeout: 10_000 }).toEqual([edgeId])

      // This server's own nodes.
      await pickScope(page, 'All of this server')
      await expect.poll(() => hostnames(cards(page)), { timeout: 10_000 }).toEqual(local)
      expect(await hostnames(cards(page), 'data-member')).toEqual(['', ''])

      // The node modal marks a member's node with its member.
      await pickScope(page, 'All nodes')
      await expect(page).not.toHaveURL(/scope=/)
      await card(page, 'site-a / web-01').click()
      const modal = page.getByTestId('node-detail')
      await expect(modal.getByTestId('member-tag')).toHaveText('site-a')
      await expect(modal.getByTestId('detail-kind')).toHaveText('member')
      await shoot(page, 'federation', 'modal')
      await page.getByTestId('node-detail-close').click()
      await expect(modal).toHaveCount(0)

      // A member that stops answering: its nodes keep their last state, tagged unreachable (seed 003's "marked as unreachable").
      await sites['site-b'].server.stop()
      const dbTag = card(page, 'site-b / db-01').getByTestId('member-tag')
      await expect(dbTag).toHaveAttribute('data-unreachable', 'true', { timeout: 15_000 })
      await expect(dbTag).toHaveText('site-b · unreachable')
      // The reason is the member's last_error: refused once it is gone (reset or an error status while it stops).
      const reason = /^(connection refused|connection reset|\/api\/\w+ answered HTTP 5\d\d)$/
      await expect(card(page, 'site-b / db-01').getByTestId('member-error')).toHaveText(reason)
      await expect(card(page, 'site-b / db-01')).toHaveAttribute('aria-label', /^db-01 on member site-b \(unreachable: (connection refused|connection reset|\/api\/\w+ answered HTTP 5\d\d)\), /)
      await expect(card(page, 'site-a / web-01').getByTestId('member-error')).toHaveCount(0)
      await expect(card(page, 'site-a / web-01').getByTestId('member-tag')).toHaveAttribute('data-unreachable', 'false')
      await scope.click()
      await expect(page.getByRole('group', { name: 'Member site-b (unreachable)' })).toHaveCount(1)
      await page.keyboard.press('Escape')
      await shoot(page, 'federation', 'unreachable')
    }
    finally {
      await context.close()
    }
  }
  finally {
    await Promise.all(pushers.map(p => p.stop().catch(() => {})))
    await killAgents()
    await Promise.all(apis.map(a => a.dispose().catch(() => {})))
    await Promise.all(servers.map(s => s.dispose()))
    rmSync(dir, { recursive: true, force: true })
  }
})

