/**
 * One story about a node everywhere: on a server of its own (unreachable after 3 s, stale after
 * 40 s) a node that goes silent reads "unreachable" on its card, in the summary, the filter, the
 * modal and the Nodes table, as the events say; its figures are grey and dated, and left out of
 * the live totals. Card and modal show the same figures; a lost server is not "online · live".
 */
import { test, expect, type APIRequestContext, type Locator, type Page } from '@playwright/test'
import type { StatsSampleInput } from '../../shared/contracts/ingest'
import type { NodeView } from '../../shared/contracts/rest'
import { adminApi, logIn, shoot } from './helpers'
import { startOwnServer, type OwnServer } from './server'

const UNREACHABLE_AFTER_S = 3
const STALE_AFTER_S = 40
/** The dashboard's snapshot interval plus time for it to travel and render. */
const WITHIN_ONE_INTERVAL = 8000

interface Agent { id: number, hostname: string, token: string }

async function addNode(api: APIRequestContext, hostname: string): Promise<Agent> {
  const res = await api.post('/api/v1/nodes', { data: { hostname } })
  expect(res.status()).toBe(201)
  const node = await res.json() as NodeView & { token: string }
  return { id: node.id, hostname, token: node.token }
}

async function report(api: APIRequestContext, agent: Agent, sample: StatsSampleInput): Promise<void> {
  const res = await api.post(`/api/v1/nodes/${agent.id}/stats`, { headers: { authorization: `Bearer ${agent.token}` }, data: sample })
  expect(res.status()).toBe(200)
}

/** Reports every second, its cpu changing each time, until stopped. */
function keepReporting(api: APIRequestContext, agent: Agent): () => Promise<void> {
  let stopped = false
  let cpu = 10
  const loop = (async () => {
    while (!stopped) {
      cpu = cpu >= 60 ? 10 : cpu + 7
      await report(api, agent, { cpu_percent: cpu, memory_percent: 30, disk_percent: 40, active_backups: 0 })
      await new Promise(resolve => setTimeout(resolve, 1000))
    }
  })()
  return async () => {
    stopped = true
    await loop
  }
}

const card = (page: Page, hostname: string): Locator => page.locator(`[data-testid="node-card"][data-hostname="${hostname}"]`)
const masterCard = (page: Page): Locator => page.getByTestId('node-card').filter({ has: page.getByTestId('master-tag') })

let server: OwnServer
let api: APIRequestContext

test.beforeAll(async () => {
  server = await startOwnServer({ NODEPULSE_HOSTNAME: 'e2e-state-master', NODEPULSE_UNREACHABLE_AFTER: String(UNREACHABLE_AFTER_S), NODEPULSE_STALE_AFTER: String(STALE_AFTER_S) })
  api = await adminApi(server.baseURL)
})
test.afterAll(async () => {
  await api?.dispose()
  await server?.dispose()
})

test('a silent node reads unreachable everywhere, its figures grey and dated, out of the live totals', async ({ browser }) => {
  test.setTimeout(180_000)
  const started = Date.now()
  const old = await addNode(api, 'backup-old')
  await report(api, old, { cpu_percent: 97, memory_percent: 95, disk_percent: 93, active_backups: 2 })
  const live = await addNode(api, 'web-live')
  const silent = await addNode(api, 'db-silent')
  const stop = keepReporting(api, live)

  const context = await browser.newContext({ baseURL: server.baseURL, viewport: { width: 1440, height: 1000 } })
  const page = await context.newPage()
  try {
    await logIn(page)
    await expect(page.getByTestId('live-indicator')).toHaveText('Dashboard stream: live')
    await expect(card(page, live.hostname)).toHaveAttribute('data-status', 'online', { timeout: WITHIN_ONE_INTERVAL })

    // The silent node reports once, late enough that it is still unreachable (not stale) when the old one turns stale.
    await page.waitForTimeout(Math.max(0, started + (STALE_AFTER_S - 12) * 1000 - Date.now()))
    await report(api, silent, { cpu_percent: 96, memory_percent: 92, disk_percent: 91, active_backups: 3 })
    const quiet = card(page, silent.hostname)
    await expect(quiet).toHaveAttribute('data-status', 'online', { timeout: WITHIN_ONE_INTERVAL })
    await expect(quiet).toHaveAttribute('data-current', 'true')

    // Silent past the threshold: the watcher logs node_unreachable, and the card says so.
    await expect(quiet).toHaveAttribute('data-status', 'unreachable', { timeout: UNREACHABLE_AFTER_S * 1000 + WITHIN_ONE_INTERVAL })
    await expect.poll(async () => {
      const events = await (await api.get(`/api/v1/events?node_id=${silent.id}&event_type=node_unreachable`)).json() as { events: unknown[] }
      return events.events.length
    }, { timeout: 5000 }).toBe(1)
    await expect(quiet.getByTestId('node-status')).toHaveText('unreachable')
    await expect(quiet).toHaveAttribute('data-current', 'false')
    await expect(quiet.getByTestId('known-at')).toHaveText(/^last known, (\d+ s|just now)/)
    // Its 96 % is last known: a grey bar, not the red of a current alarm.
    const bar = quiet.getByRole('meter', { name: 'CPU' }).locator('div')
    await expect(bar).toHaveClass(/bg-slate-400/)
    await expect(bar).not.toHaveClass(/bg-red-500/)
    await expect(quiet.getByTestId('card-cpu')).toHaveText('96 %')
    // The live node's figures are current: no date, colours as they are.
    await expect(card(page, live.hostname)).toHaveAttribute('data-current', 'true')
    await expect(card(page, live.hostname).getByTestId('known-at')).toHaveCount(0)

    // The old node turns stale, and the summary counts each state; backups count only where figures are current.
    await expect(card(page, old.hostname)).toHaveAttribute('data-status', 'stale', { timeout: STALE_AFTER_S * 1000 + WITHIN_ONE_INTERVAL })
    await expect(card(page, old.hostname).getByTestId('known-at')).toBeVisible()
    await expect(page.getByTestId('summary-online')).toHaveText('2')
    await expect(page.getByTestId('summary-unreachable')).toHaveText('1')
    await expect(page.getByTestId('summary-stale')).toHaveText('1')
    await expect(page.getByTestId('summary-offline')).toHaveText('0')
    await expect(page.getByTestId('summary-backups')).toHaveText('0')
    await shoot(page, 'node-state', 'dashboard')

    // The filter finds it by its state, and only it.
    await page.getByTestId('dash-status').selectOption('unreachable')
    await expect(page.getByTestId('node-card')).toHaveCount(1)
    await expect(quiet).toHaveCount(1)
    await page.getByTestId('dash-status').selectOption('all')

    // The modal says the same.
    await quiet.click()
    const modal = page.getByTestId('node-detail')
    await expect(modal.getByTestId('node-status')).toHaveAttribute('data-status', 'unreachable')
    await expect(modal.getByTestId('detail-figures')).toHaveAttribute('data-current', 'false')
    await expect(modal.getByTestId('known-at')).toHaveText(/^last known, /)
    await expect(modal.getByTestId('detail-cpu')).toHaveText('96 %')
    await page.getByTestId('node-detail-close').click()

    // The Nodes table tells the same story (it refreshes every 5 s).
    await page.goto('/nodes')
    const row = (hostname: string) => page.locator(`[data-testid="node-row"][data-hostname="${hostname}"]`)
    await expect(row(silent.hostname).getByTestId('node-status')).toHaveText('unreachable', { timeout: WITHIN_ONE_INTERVAL })
    await expect(row(silent.hostname).getByTestId('node-cpu')).toHaveAttribute('data-current', 'false')
    await expect(row(silent.hostname).getByTestId('node-cpu')).toHaveAttribute('title', /^last known, /)
    await expect(row(old.hostname).getByTestId('node-status')).toHaveText('stale')
    await expect(row(live.hostname).getByTestId('node-status')).toHaveText('online')
    await expect(row(live.hostname).getByTestId('node-cpu')).toHaveAttribute('data-current', 'true')
    await shoot(page, 'node-state', 'nodes')
  }
  finally {
    await stop()
    await context.close()
  }
})

test('the card and the modal of a node show the same figures at the same moment', async ({ browser }) => {
  test.setTimeout(90_000)
  const busy = await addNode(api, 'web-busy')
  const stop = keepReporting(api, busy)
  const context = await browser.newContext({ baseURL: server.baseURL })
  const page = await context.newPage()
  try {
    await logIn(page)
    await card(page, busy.hostname).click()
    const modal = page.getByTestId('node-detail')
    await expect(modal.getByTestId('node-detail-state')).toHaveText('Updating live')
    // The cpu changes every second; the card's snapshot comes every 5 s, the modal's stream every 2 s.
    const seen = new Set<string>()
    for (let i = 0; i < 8; i++) {
      const both = await page.evaluate((host) => {
        const text = (sel: string) => document.querySelector(sel)?.textContent?.trim() ?? null
        return { card: text(`[data-testid="node-card"][data-hostname="${host}"] [data-testid="card-cpu"]`), modal: text('[data-testid="node-detail"] [data-testid="detail-cpu"]') }
      }, busy.hostname)
      expect(both.card, `reading ${i}`).toBe(both.modal)
      seen.add(both.card ?? '')
      await page.waitForTimeout(1100)
    }
    // The figures did move while we looked, so the agreement was not of a still picture.
    expect(seen.size).toBeGreaterThan(1)
  }
  finally {
    await stop()
    await context.close()
  }
})

test('while the server is away the master card is not "online · live"', async ({ browser }) => {
  test.setTimeout(120_000)
  const context = await browser.newContext({ baseURL: server.baseURL })
  const page = await context.newPage()
  try {
    await logIn(page)
    const master = masterCard(page)
    await expect(master).toHaveAttribute('data-status', 'online')
    await expect(master.getByTestId('card-last-seen')).toHaveText('live')
    const headerHeight = async () => (await page.locator('header').boundingBox())!.height
    const liveHeight = await headerHeight()
    await server.stop()
    await expect(page.getByTestId('live-indicator')).not.toHaveText('Dashboard stream: live', { timeout: 15_000 })
    // Each indicator names its stream, once; longer words do not wrap the header onto another line.
    await expect(page.getByTestId('live-indicator')).toHaveText('Dashboard stream: reconnecting')
    await expect(page.getByTestId('event-stream-state')).toHaveText(/^Events: (reconnecting|offline)$/)
    expect(await headerHeight()).toBe(liveHeight)
    await expect(master).toHaveAttribute('data-status', 'unreachable')
    await expect(master.getByTestId('card-last-seen')).not.toHaveText('live')
    await expect(master).toHaveAttribute('data-current', 'false')
    await expect(master.getByTestId('known-at')).toHaveText(/^last known, /)
    // No figure is current while the stream is down: the averages are blank, not the last ones.
    await expect(page.getByTestId('summary-cpu')).toHaveText('—')
    await shoot(page, 'node-state', 'server-away')
    await server.start()
    await expect(page.getByTestId('live-indicator')).toHaveText('Dashboard stream: live', { timeout: 30_000 })
    await expect(master).toHaveAttribute('data-status', 'online')
    await expect(master.getByTestId('card-last-seen')).toHaveText('live')
  }
  finally {
    await context.close()
  }
})
