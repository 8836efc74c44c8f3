import { readFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { test, expect, type APIRequestContext } from '@playwright/test'
import { adminApi, logIn, shoot } from './helpers'
import { startOwnServer, type OwnServer } from './server'

/**
 * Issue 16 in Chromium: seed 001's own HTML page, served from a second loopback origin with a
 * stream token in its URLs (its only change), shows live stats and request-log lines when
 * NODEPULSE_CORS_ORIGINS names that origin, and nothing without it; and the Agent requests page
 * shows which agents are refused and why.
 */

const SEED_001 = new URL('../fixtures/seeds/001_783fa6bd90265376.txt', import.meta.url)

/** Seed 001's browser example, as the seed prints it, with its two stream URLs pointed at `base` with `token`. */
function seedPage(base: string, token: string): string {
  const text = readFileSync(SEED_001, 'utf8')
  const html = /```html\n([\s\S]*?)```/.exec(text.slice(text.indexOf('### Browser JavaScript')))![1]!
  let changed = html
  for (const path of ['/stream/stats', '/stream/logs']) {
    const url = `'http://localhost:8080${path}'`
    expect(changed.split(url).length, `the seed page opens ${path} once`).toBe(2)
    changed = changed.replace(url, `'${base}${path}?token=${token}'`)
  }
  return changed
}

/** Serves `html` at / on a loopback port of its own: another origin than NodePulse's. */
async function servePage(html: string): Promise<{ origin: string, close: () => Promise<void> }> {
  const server = http.createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(html)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { origin: `http://localhost:${(server.address() as AddressInfo).port}`, close: () => new Promise(resolve => server.close(() => resolve())) }
}

async function agentOf(api: APIRequestContext, hostname: string): Promise<{ id: number, token: string }> {
  const res = await api.post('/api/v1/nodes', { data: { hostname } })
  expect(res.status()).toBe(201)
  return await res.json() as { id: number, token: string }
}

const report = (api: APIRequestContext, agent: { id: number, token: string }, token = agent.token) =>
  api.post(`/api/v1/nodes/${agent.id}/stats`, { headers: { authorization: `Bearer ${token}` }, data: { cpu_percent: 12, disk_percent: 34 } })

test.describe('seed 001\'s HTML page on another origin', () => {
  let server: OwnServer
  let page2: Awaited<ReturnType<typeof servePage>> | undefined
  test.afterEach(async () => {
    await page2?.close()
    page2 = undefined
    await server?.dispose()
  })

  test('with NODEPULSE_CORS_ORIGINS it shows live stats and request-log lines; without it the browser gets nothing', async ({ page }) => {
    test.setTimeout(90_000)
    // The page's origin must be known before the server starts: take a port, then serve on it.
    page2 = await servePage('')
    const origin = page2.origin
    await page2.close()
    const port = Number(new URL(origin).port)
    server = await startOwnServer({ NODEPULSE_CORS_ORIGINS: origin, NODEPULSE_STREAM_STATS_INTERVAL: '1', NODEPULSE_STREAM_LOGS_INTERVAL: '0.5' })
    const api = await adminApi(server.baseURL)
    const ticket = await api.post('/api/v1/auth/stream-token')
    expect(ticket.status()).toBe(201)
    const { token } = await ticket.json() as { token: string }
    const agent = await agentOf(api, 'seed-page-agent')
    expect((await report(api, agent)).status()).toBe(200)
    expect((await report(api, agent, 'npa_not-this-one')).status()).toBe(401)

    const html = seedPage(server.baseURL, token)
    const pageServer = http.createServer((_, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end(html)
    })
    await new Promise<void>(resolve => pageServer.listen(port, '127.0.0.1', resolve))
    page2 = { origin, close: () => new Promise(resolve => pageServer.close(() => resolve())) }

    await page.goto(origin)
    await expect(page.locator('#stats h2')).toContainText('Stats (')
    await expect(page.locator('#stats')).toContainText(/Total Requests: \d+/)
    await expect(page.locator('#stats')).toContainText('Total Cost: $0.0000')
    await expect(page.locator('#stats')).toContainText('Providers: 2')
    await expect(page.locator('#logs h2')).toHaveText('Recent Logs')
    // A fresh stream starts with the newest entries: the accepted and the refused report.
    await expect(page.locator('#logs .log.success').filter({ hasText: `POST /api/v1/nodes/${agent.id}/stats - 200 -` }).first()).toBeVisible()
    await expect(page.locator('#logs .log.error').filter({ hasText: `POST /api/v1/nodes/${agent.id}/stats - 401 -` }).first()).toBeVisible()
    await expect(page.locator('#logs')).not.toContainText('undefined')
    // Live: a new report's line replaces the batch (the seed page shows the latest batch).
    await expect.poll(async () => {
      await report(api, agent)
      return page.locator('#logs .log').count()
    }, { timeout: 15_000 }).toBeGreaterThan(0)
    await expect(page.locator('#logs .log').first()).toContainText(/\d+(\.\d+)?ms/)

    // The same page, the server without NODEPULSE_CORS_ORIGINS: refused, the page stays empty.
    await server.stop()
    await server.start({ NODEPULSE_CORS_ORIGINS: '' })
    // The browser refuses the answer (no Access-Control-Allow-Origin): the seed page's onerror logs it.
    const errors: string[] = []
    page.on('console', (m) => {
      if (m.text().startsWith('SSE error')) errors.push(m.text())
    })
    const api2 = await adminApi(server.baseURL)
    const ticket2 = await api2.post('/api/v1/auth/stream-token')
    const fresh = seedPage(server.baseURL, (await ticket2.json() as { token: string }).token)
    pageServer.removeAllListeners('request')
    pageServer.on('request', (_, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end(fresh)
    })
    await page.goto(origin)
    await expect.poll(() => errors.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(1)
    // What the server answered that origin: 403 with the setting to change.
    const direct = await fetch(`${server.baseURL}/stream/stats?token=x`, { headers: { origin } })
    expect(direct.status).toBe(403)
    expect((await direct.json() as { message: string }).message).toContain('NODEPULSE_CORS_ORIGINS')
    await page.waitForTimeout(1500)
    await expect(page.locator('#stats')).toBeEmpty()
    await expect(page.locator('#logs')).toBeEmpty()
    await api.dispose()
    await api2.dispose()
  })
})

test('the Agent requests page shows which agents are refused and why, filterable by node and status', async ({ page, request }) => {
  // Room for the screenshots SHOTS_DIR asks for (eight full pages).
  test.setTimeout(90_000)
  await logIn(page)
  const a = await agentOf(page.request, `requests-a-${Date.now()}`)
  const b = await agentOf(page.request, `requests-b-${Date.now()}`)
  expect((await report(request, a)).status()).toBe(200)
  expect((await report(request, a, 'npa_wrong-token')).status()).toBe(401)
  expect((await report(request, a, b.token)).status()).toBe(403)
  const invalid = await request.post(`/api/v1/nodes/${a.id}/stats`, { headers: { authorization: `Bearer ${a.token}` }, data: { cpu_percent: 'hot', disk_percent: 1 } })
  expect(invalid.status()).toBe(422)

  await page.getByRole('link', { name: 'Requests' }).click()
  await expect(page).toHaveURL(/\/requests$/)
  await expect(page.getByRole('heading', { name: 'Agent requests' })).toBeVisible()
  const cards = page.getByTestId('failing-agent').and(page.locator(`[data-node-id="${a.id}"]`))
  await expect(cards).toHaveCount(3, { timeout: 15_000 })
  await expect(cards.and(page.locator('[data-status="401"]'))).toContainText('Invalid agent token')
  await expect(cards.and(page.locator('[data-status="403"]'))).toContainText('belongs to another node')
  await expect(cards.and(page.locator('[data-status="422"]'))).toContainText('cpu_percent')

  await page.getByTestId('request-filter-node').selectOption(String(a.id))
  await page.getByTestId('request-filter-status').selectOption('failed')
  await expect(page).toHaveURL(new RegExp(`node_id=${a.id}.*status=failed`))
  const rows = page.getByTestId('request-row')
  await expect(rows).toHaveCount(3)
  await expect(rows.nth(0)).toHaveAttribute('data-status', '422')
  await expect(rows.nth(2)).toHaveAttribute('data-status', '401')
  await page.getByTestId('request-filter-status').selectOption('401')
  await expect(rows).toHaveCount(1)
  await expect(page.getByTestId('request-message')).toHaveText('Invalid agent token')
  await page.getByTestId('request-filter-status').selectOption('')
  await expect(rows).toHaveCount(4)
  await shoot(page, 'requests', 'filtered')
  await page.goto('/requests')
  await expect(page.getByTestId('request-row').first()).toBeVisible()
  await shoot(page, 'requests', 'all')
})
