import { createHmac } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test, expect, type Locator, type Page } from '@playwright/test'
import { E2E_STALE_AFTER_S } from '../../playwright.config'
import { addNode, logIn, type Agent } from './helpers'
import { startOwnServer } from './server'

/**
 * Seed 002 in the browser: the global event stream, its toasts, the Events page with
 * acknowledgement, the stream's life across logout and a server restart, and the Webhooks page.
 */

/** The e2e server's NODEPULSE_STALE_AFTER (playwright.config.ts: 8 s unless E2E_STALE_AFTER says otherwise). */
const STALE_AFTER_MS = E2E_STALE_AFTER_S * 1000

async function report(page: Page, agent: Agent): Promise<void> {
  const response = await page.request.post(`/api/v1/nodes/${agent.id}/stats`, {
    headers: { authorization: `Bearer ${agent.token}` }, data: { cpu_percent: 5, disk_percent: 10 },
  })
  expect(response.status()).toBe(200)
}

const streamState = (page: Page) => page.getByTestId('event-stream-state')
/** The toast with this headline about this node (the server's message, below the headline, names it). */
const toast = (page: Page, headline: string, hostname: string): Locator =>
  page.locator('[data-sonner-toast]').filter({ hasText: headline }).filter({ hasText: hostname })

/** The badge's count once it has held still for a moment (events of one change arrive together). */
async function settledCount(badge: Locator): Promise<number> {
  let last = -1
  await expect.poll(async () => {
    const now = Number(await badge.getAttribute('data-count'))
    const still = now === last
    last = now
    return still
  }, { intervals: [1500], timeout: 15_000 }).toBe(true)
  return last
}

/** A number shown as text once it has held still for a moment. */
async function settledText(where: Locator): Promise<number> {
  let last = -1
  await expect.poll(async () => {
    const now = Number(await where.textContent())
    const still = now === last
    last = now
    return still
  }, { intervals: [1500], timeout: 15_000 }).toBe(true)
  return last
}

test('a silent node opens one incident: the bell counts it, the Incidents view lists it, an admin acknowledges it, it resolves with its duration; "Acknowledge all" keeps to the filter', async ({ page }) => {
  test.skip(STALE_AFTER_MS > 30_000, 'needs the e2e stale threshold of a few seconds (E2E_STALE_AFTER ≤ 30)')
  test.setTimeout(120_000)
  await logIn(page)
  await expect(streamState(page)).toHaveAttribute('data-state', 'connected')
  const a = await addNode(page, `e2e-inc-a-${Date.now()}`)
  const b = await addNode(page, `e2e-inc-b-${Date.now()}`)
  await report(page, a)
  await report(page, b)
  const openOf = async (agent: Agent) => {
    const response = await page.request.get(`/api/v1/incidents?node_id=${agent.id}&state=open`)
    expect(response.status()).toBe(200)
    return (await response.json() as { incidents: { id: number }[] }).incidents
  }
  await expect.poll(async () => (await openOf(a)).length, { timeout: STALE_AFTER_MS + 20_000 }).toBe(1)
  await expect.poll(async () => (await openOf(b)).length, { timeout: 20_000 }).toBe(1)

  const badge = page.getByTestId('unack-badge')
  const before = await settledCount(badge)
  expect(before).toBeGreaterThanOrEqual(2)
  await badge.click()
  await expect(page).toHaveURL(/\/events\?view=incidents$/)
  await expect(page.getByTestId('tab-incidents')).toHaveAttribute('aria-selected', 'true')
  const itemA = page.getByTestId('incident-item').filter({ hasText: a.hostname })
  await expect(itemA).toHaveCount(1)
  await expect(itemA).toHaveAttribute('data-state', 'open')
  await expect(itemA.getByTestId('incident-state')).toHaveText('Open')
  await expect(itemA.getByTestId('incident-duration')).toContainText('open for')

  await itemA.getByTestId('incident-ack').click()
  await expect(itemA).toHaveAttribute('data-acknowledged', 'true')
  await expect(itemA.getByTestId('incident-acked')).toContainText('Acknowledged by admin')
  await expect(itemA.getByTestId('incident-state')).toHaveText('Acknowledged')
  await expect(badge).toHaveAttribute('data-count', String(before - 1))

  // a reports again: its incident resolves by itself, live, with how long it lasted.
  await report(page, a)
  await expect(itemA).toHaveAttribute('data-state', 'resolved', { timeout: 15_000 })
  await expect(itemA.getByTestId('incident-duration')).toContainText('lasted')

  // "Acknowledge all" with b's node filter acknowledges b's incident and not the fleet's.
  await page.goto(`/events?view=incidents&node_id=${b.id}`)
  const itemB = page.getByTestId('incident-item').filter({ hasText: b.hostname })
  await expect(itemB).toHaveAttribute('data-acknowledged', 'false')
  await expect(page.getByTestId('incident-item')).toHaveCount(1)
  await page.getByTestId('incidents-ack-all').click()
  await expect(itemB).toHaveAttribute('data-acknowledged', 'true')
  const fleet = await (await page.request.get('/api/v1/incidents?state=open&kind=cluster')).json() as { incidents: { cluster_id: string | null, acknowledged_at: string | null }[] }
  expect(fleet.incidents.find(i => i.cluster_id === null)?.acknowledged_at).toBeNull()

  // The title links to the node's modal on the dashboard.
  await itemB.getByTestId('incident-node-link').click()
  await expect(page).toHaveURL(new RegExp(`/\\?node=${b.id}$`))
  await expect(page.getByRole('dialog')).toBeVisible()

  await page.request.delete(`/api/v1/nodes/${a.id}`)
  await page.request.delete(`/api/v1/nodes/${b.id}`)
})

test('a node that stops reporting raises a stale toast; the Events page lists it, and acknowledging it lowers the count', async ({ page }) => {
  test.skip(STALE_AFTER_MS > 30_000, 'needs the e2e stale threshold of a few seconds (E2E_STALE_AFTER ≤ 30)')
  test.setTimeout(90_000)
  await logIn(page)
  await expect(streamState(page)).toHaveAttribute('data-state', 'connected')

  const agent = await addNode(page, `e2e-ev-${Date.now()}`)
  await report(page, agent)
  // Not a word for STALE_AFTER seconds: the watcher turns the node stale, and the stream brings the toast.
  await expect(toast(page, 'Node stale', agent.hostname)).toBeVisible({ timeout: STALE_AFTER_MS + 20_000 })

  // Without a reload: the header's link opens the Events page, which lists the event.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Events', exact: true }).click()
  await expect(page).toHaveURL(/\/events$/)
  // (Its acknowledgement becomes an event of its own, quoting it: hence the type.)
  const item = page.locator('[data-testid="event-item"][data-event-type="node_status_update"]').filter({ hasText: 'Node stale' }).filter({ hasText: agent.hostname })
  await expect(item).toHaveCount(1)
  await expect(item).toHaveAttribute('data-node-id', String(agent.id))
  await expect(item.getByTestId('event-severity')).toHaveText('warning')
  await expect(page.getByTestId('event-stats')).toBeVisible()

  const count = page.getByTestId('events-unacked-count')
  await expect(count).toHaveText(/^\d+$/)
  const before = await settledText(count)
  expect(before).toBeGreaterThan(0)

  await item.getByTestId('event-ack').click()
  await expect(item).toHaveAttribute('data-acknowledged', 'true')
  await expect(item.getByTestId('event-acked')).toContainText('Acknowledged by admin')
  await expect(count).toHaveText(String(before - 1))

  // The "unacknowledged only" filter drops it; a reload keeps the acknowledgement.
  await page.getByTestId('filter-unacked').check()
  await expect(item).toHaveCount(0)
  await page.reload()
  await expect(page.getByTestId('filter-unacked')).toBeChecked()
  await expect(page.getByTestId('event-list').or(page.getByTestId('event-list-empty'))).toBeVisible()
  await expect(item).toHaveCount(0)
  await page.getByTestId('filter-clear').click()
  await expect(item.getByTestId('event-acked')).toBeVisible()

  await page.request.delete(`/api/v1/nodes/${agent.id}`)
})

test('a burst of events makes a few toasts and one summary; the list pages back with "Load older"', async ({ page }) => {
  test.setTimeout(60_000)
  await logIn(page)
  await expect(streamState(page)).toHaveAttribute('data-state', 'connected')
  const agent = await addNode(page, `e2e-ev-burst-${Date.now()}`)
  await expect(toast(page, 'Node added', agent.hostname)).toBeVisible()

  // 60 reports from the agent at once (the history's page holds 50).
  const sent = await Promise.all(Array.from({ length: 60 }, (_, i) => page.request.post(`/api/v1/nodes/${agent.id}/events`, {
    headers: { authorization: `Bearer ${agent.token}` }, data: { event_type: 'error_report', severity: 'info', message: `burst ${i}` },
  })))
  for (const response of sent) expect(response.status()).toBe(201)
  const summary = page.locator('[data-sonner-toast]').filter({ hasText: /\d+ more events just arrived/ })
  await expect(summary).toHaveCount(1)
  expect(await toast(page, 'Error reported', agent.hostname).count()).toBeLessThanOrEqual(3)

  await page.goto(`/events?node_id=${agent.id}&event_type=error_report`)
  // The first page of history; events the browser kept that are older than it wait for "Load older" too.
  const items = page.getByTestId('event-item')
  await expect(items).toHaveCount(50)
  await expect(items.first()).toContainText('burst')
  await page.getByTestId('event-older').click()
  await expect(items).toHaveCount(60)
  await expect(page.getByTestId('event-older')).toHaveCount(0)
  await expect(items.last()).toContainText('burst')
  await page.request.delete(`/api/v1/nodes/${agent.id}`)
})

test('the Events page orders by severity on request, keeping the order in the URL', async ({ page }) => {
  await logIn(page)
  const agent = await addNode(page, `e2e-ev-order-${Date.now()}`)
  for (const severity of ['error', 'info', 'warning', 'success']) {
    const response = await page.request.post(`/api/v1/nodes/${agent.id}/events`, {
      headers: { authorization: `Bearer ${agent.token}` }, data: { event_type: 'error_report', severity, message: `ordered ${severity}` },
    })
    expect(response.status()).toBe(201)
  }
  await page.goto(`/events?node_id=${agent.id}&event_type=error_report`)
  const severities = page.getByTestId('event-item').getByTestId('event-severity')
  await expect(severities).toHaveText(['success', 'warning', 'info', 'error'])

  await page.getByTestId('filter-order').selectOption('severity')
  await expect(page).toHaveURL(/order=severity/)
  await expect(severities).toHaveText(['error', 'warning', 'success', 'info'])
  // A new event takes its place by severity, not at the top.
  const late = await page.request.post(`/api/v1/nodes/${agent.id}/events`, {
    headers: { authorization: `Bearer ${agent.token}` }, data: { event_type: 'error_report', severity: 'info', message: 'ordered late info' },
  })
  expect(late.status()).toBe(201)
  await expect(severities).toHaveText(['error', 'warning', 'success', 'info', 'info'])
  await page.reload()
  await expect(page.getByTestId('filter-order')).toHaveValue('severity')
  await expect(severities).toHaveText(['error', 'warning', 'success', 'info', 'info'])
  await page.request.delete(`/api/v1/nodes/${agent.id}`)
})

test('after a reload the stream resumes from the newest event kept in the browser', async ({ page }) => {
  await logIn(page)
  await expect(streamState(page)).toHaveAttribute('data-state', 'connected')
  // Something happens, so there is an event to resume after.
  const agent = await addNode(page, `e2e-ev-resume-${Date.now()}`)
  await expect(toast(page, 'Node added', agent.hostname)).toBeVisible()

  // The browser saves its position a moment after an event (the save is debounced): wait until it has.
  await expect.poll(() => page.evaluate(() => new Promise<string | null>((resolve) => {
    const open = indexedDB.open('nodepulse')
    open.onerror = () => resolve(null)
    open.onsuccess = () => {
      const get = open.result.transaction('meta').objectStore('meta').get('lastEventId')
      get.onsuccess = () => {
        resolve(typeof get.result === 'string' ? get.result : null)
        open.result.close()
      }
    }
  }))).toMatch(/^\d+-\d+$/)
  const resumed = page.waitForRequest(r => r.url().includes('/api/v1/events/stream'))
  await page.reload()
  const url = new URL((await resumed).url())
  expect(url.searchParams.get('lastEventId')).toMatch(/^\d+-\d+$/)
  // Same origin: the session cookie authenticates the stream, so no token rides in its URL.
  expect(url.searchParams.has('token')).toBe(false)
  await expect(streamState(page)).toHaveAttribute('data-state', 'connected')
  // The event is still known, and not toasted a second time.
  await page.goto('/events')
  await expect(page.locator('[data-testid="event-item"][data-event-type="node_registered"]').filter({ hasText: agent.hostname })).toHaveCount(1)
  await expect(toast(page, 'Node added', agent.hostname)).toHaveCount(0)
  await page.request.delete(`/api/v1/nodes/${agent.id}`)
})

test('logging out closes the event stream: no stream request follows', async ({ page }) => {
  const requests: { url: string, at: number }[] = []
  page.on('request', r => requests.push({ url: r.url(), at: Date.now() }))
  const streamRequests = () => requests.filter(r => /\/api\/v1\/(events\/stream|auth\/stream-token)/.test(r.url))

  await logIn(page)
  await expect(streamState(page)).toHaveAttribute('data-state', 'connected')
  expect(streamRequests().length).toBeGreaterThan(0)

  await page.getByTestId('logout').click()
  await expect(page).toHaveURL(/\/login/)
  const loggedOutAt = Date.now()
  // Longer than the first backoff steps (1 s, 2 s): a stream that was still retrying would show here.
  await page.waitForTimeout(5000)
  expect(streamRequests().filter(r => r.at > loggedOutAt)).toEqual([])
  await expect(streamState(page)).toHaveCount(0)
})

test('the header shows reconnecting while the server is down, then live again without a reload', async ({ browser }) => {
  test.setTimeout(120_000)
  const server = await startOwnServer()
  const context = await browser.newContext({ baseURL: server.baseURL })
  try {
    const page = await context.newPage()
    await logIn(page)
    await expect(streamState(page)).toHaveAttribute('data-state', 'connected')
    await page.evaluate(() => Object.assign(window, { __sameDocument: true }))

    await server.stop()
    await expect(streamState(page)).toHaveAttribute('data-state', 'reconnecting')
    await expect(streamState(page)).toHaveText('Events: reconnecting')

    await server.start()
    await expect(streamState(page)).toHaveAttribute('data-state', 'connected', { timeout: 45_000 })
    await expect(streamState(page)).toHaveText('Events: live')
    expect(await page.evaluate(() => (window as { __sameDocument?: boolean }).__sameDocument)).toBe(true)
  }
  finally {
    await context.close()
    await server.dispose()
  }
})

test('after ten failed reconnects the header gives up; Retry connects again', async ({ page }) => {
  // The page's clock is fake, so the backoff (1 s doubling to 30 s, about three minutes in all) passes at once.
  await page.clock.install()
  await logIn(page)
  await expect(streamState(page)).toHaveAttribute('data-state', 'connected')

  let reconnects = 0
  const eventStream = (url: URL) => url.pathname === '/api/v1/events/stream'
  await page.route(eventStream, (route) => {
    // Counted: the EventSource's requests (not the probe that asks a refused stream for its status).
    if (route.request().resourceType() === 'eventsource') reconnects++
    return route.abort()
  })
  // No word from the server for longer than two heartbeats counts as a dead connection; then every reconnect fails.
  await expect.poll(async () => {
    await page.clock.fastForward(31_000)
    return await streamState(page).getAttribute('data-state')
  }, { timeout: 60_000, intervals: [250] }).toBe('gave_up')
  expect(reconnects).toBe(10)
  await expect(streamState(page)).toHaveText('Events: offline')

  await page.unroute(eventStream)
  await page.getByTestId('event-stream-retry').click()
  await expect(streamState(page)).toHaveAttribute('data-state', 'connected')
  await expect(page.getByTestId('event-stream-retry')).toHaveCount(0)
})

test('maintenance mode: switched on from the Nodes page, tagged on the dashboard card, switched off in the node detail', async ({ page }) => {
  await logIn(page)
  const agent = await addNode(page, `e2e-ev-maint-${Date.now()}`)
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Nodes', exact: true }).click()
  const row = page.locator(`[data-testid="node-row"][data-hostname="${agent.hostname}"]`)
  await row.getByTestId('toggle-maintenance').click()
  await expect(row.getByTestId('maintenance-tag')).toBeVisible()
  await expect(row.getByTestId('toggle-maintenance')).toHaveText('End maintenance')
  await expect(toast(page, 'Maintenance started', agent.hostname)).toBeVisible()

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click()
  const card = page.locator(`[data-testid="node-card"][data-hostname="${agent.hostname}"]`)
  await expect(card.getByTestId('maintenance-tag')).toBeVisible()
  await card.click()
  const detail = page.getByTestId('node-detail')
  await expect(detail.getByTestId('maintenance-tag')).toBeVisible()
  await detail.getByTestId('detail-toggle-maintenance').click()
  await expect(detail.getByTestId('maintenance-tag')).toHaveCount(0)
  await expect(detail.getByTestId('detail-toggle-maintenance')).toHaveText('Start maintenance')
  await detail.getByTestId('node-detail-close').click()
  // The card follows the node_maintenance event, without a reload.
  await expect(card.getByTestId('maintenance-tag')).toHaveCount(0)
  await page.request.delete(`/api/v1/nodes/${agent.id}`)
})

test('an admin adds a webhook, sees its secret once, tests it against a receiver, rotates, disables and deletes it', async ({ page }) => {
  test.setTimeout(60_000)
  const received: { headers: IncomingHttpHeaders, body: string }[] = []
  const receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
    req.on('end', () => {
      received.push({ headers: req.headers, body })
      res.writeHead(200).end('ok')
    })
  })
  await new Promise<void>(resolve => receiver.listen(0, '127.0.0.1', resolve))
  const { port } = receiver.address() as AddressInfo
  try {
    await logIn(page)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Notifications' }).click()
    await expect(page).toHaveURL(/\/notifications$/)
    const name = `e2e-hook-${Date.now()}`

    await page.getByTestId('add-webhook').click()
    await page.getByTestId('webhook-name').fill(name)
    await page.getByTestId('webhook-url').fill(`http://127.0.0.1:${port}/hook`)
    await page.getByTestId('webhook-severity').selectOption('warning')
    await page.getByTestId('webhook-types').getByLabel('Node status changed').check()
    await page.getByTestId('webhook-repeat').fill('10')
    await page.getByTestId('webhook-submit').click()

    const secretValue = page.getByTestId('webhook-secret')
    await expect(secretValue).toHaveText(/\S{16,}/)
    const secret = (await secretValue.textContent())!.trim()
    const row = page.locator(`[data-testid="webhook-row"][data-name="${name}"]`)
    await expect(row).toHaveCount(1)
    await expect(row).toContainText('Node status changed')
    await expect(row).toContainText('warning and above · repeats every 10 min')
    await expect(row.getByTestId('webhook-enabled')).toHaveText('enabled')

    // Shown once: gone after "Done", and not there after a reload either.
    await page.getByRole('button', { name: 'Done, I have saved it' }).click()
    await expect(secretValue).toHaveCount(0)
    await page.reload()
    await expect(row).toHaveCount(1)
    await expect(secretValue).toHaveCount(0)

    // A test delivery reaches the receiver, signed with the secret the page showed.
    await row.getByTestId('webhook-test').click()
    await expect(page.getByTestId('webhook-notice')).toContainText(`Test delivered to “${name}”: 200`)
    expect(received).toHaveLength(1)
    const { headers, body } = received[0]!
    const expected = createHmac('sha256', secret).update(`${String(headers['x-nodepulse-timestamp'])}.${body}`).digest('hex')
    expect(headers['x-nodepulse-signature']).toBe(`sha256=${expected}`)
    await expect(row.getByTestId('webhook-last').getByTestId('delivery-state')).toHaveText('delivered')

    await row.getByTestId('webhook-deliveries').click()
    const log = page.getByTestId('webhook-delivery-log')
    await expect(log.getByTestId('delivery-row')).toHaveCount(1)
    await expect(log.getByTestId('delivery-row')).toContainText('200')
    await log.getByRole('button', { name: 'Close' }).click()
    await expect(log).toHaveCount(0)

    await row.getByTestId('webhook-rotate').click()
    await page.getByTestId('confirm-ok').click()
    await expect(secretValue).toHaveText(/\S{16,}/)
    expect((await secretValue.textContent())!.trim()).not.toBe(secret)
    await page.getByRole('button', { name: 'Done, I have saved it' }).click()

    await row.getByTestId('webhook-toggle').click()
    await expect(row.getByTestId('webhook-enabled')).toHaveText('disabled')

    await row.getByTestId('webhook-delete').click()
    await page.getByTestId('confirm-ok').click()
    await expect(row).toHaveCount(0)
  }
  finally {
    receiver.close()
  }
})
