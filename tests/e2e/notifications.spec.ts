import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test, expect } from '@playwright/test'
import { logIn } from './helpers'

/**
 * The Notifications page as an operator uses it: a Slack channel added through the form (which
 * asks for the type first, then only its fields) delivers a test message to a Slack stand-in on
 * 127.0.0.1; a channel whose receiver refuses shows its failure in red, in the list and the log.
 */

interface Hit { path: string, headers: IncomingHttpHeaders, body: string }

let server: Server
const hits: Hit[] = []
let base = ''

test.beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString('utf8')))
    req.on('end', () => {
      hits.push({ path: req.url ?? '', headers: req.headers, body })
      res.writeHead(req.url?.startsWith('/refuse') ? 404 : 200).end('ok')
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

test.afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>(resolve => server.close(() => resolve()))
})

test('adds a Slack channel, sends a test that arrives in Slack\'s format, and shows a failing channel in red', async ({ page }) => {
  await logIn(page)
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Notifications' }).click()
  await expect(page).toHaveURL(/\/notifications$/)
  await expect(page).toHaveTitle('Notifications · NodePulse')
  const ids: number[] = []
  try {
    await page.getByTestId('add-webhook').click()
    const fields = page.getByTestId('channel-fields')
    await page.getByTestId('webhook-type').selectOption('telegram')
    await expect(fields.getByLabel('Bot token')).toBeVisible()
    await expect(page.getByTestId('webhook-url')).toHaveCount(0)
    await page.getByTestId('webhook-type').selectOption('slack')
    await expect(fields.getByLabel('Bot token')).toHaveCount(0)
    await expect(fields.getByLabel('Incoming webhook URL')).toBeVisible()

    const name = `e2e-slack-${Date.now()}`
    await page.getByTestId('webhook-name').fill(name)
    await page.getByTestId('webhook-url').fill(`${base}/services/T0/B1/abc`)
    await page.getByTestId('webhook-labels').fill('cluster=prod')
    await page.getByTestId('webhook-submit').click()
    const row = page.locator(`[data-testid="webhook-row"][data-name="${name}"]`)
    await expect(row).toHaveAttribute('data-type', 'slack')
    ids.push(Number(await row.getAttribute('data-webhook-id')))
    // A Slack channel signs nothing: no secret to show, nothing to rotate.
    await expect(page.getByTestId('webhook-secret')).toHaveCount(0)
    await expect(row.getByTestId('webhook-rotate')).toHaveCount(0)
    await expect(row.getByTestId('webhook-type-label')).toContainText('Slack')
    await expect(row).toContainText('cluster=prod')

    await row.getByTestId('webhook-test').click()
    await expect(page.getByTestId('webhook-notice')).toContainText(`Test delivered to “${name}”: 200`)
    const hit = hits.find(h => h.path === '/services/T0/B1/abc')!
    expect(hit.headers['content-type']).toBe('application/json')
    expect(JSON.parse(hit.body)).toMatchObject({ text: expect.stringContaining('Test notification from NodePulse'), blocks: [{ type: 'header' }, { type: 'section' }] })
    await expect(row.getByTestId('delivery-state').first()).toHaveText('delivered')

    // A Discord channel whose receiver answers 404: its test fails, and shows red.
    const refusing = await page.request.post('/api/v1/webhooks', { data: { type: 'discord', name: `e2e-refused-${Date.now()}`, url: `${base}/refuse/1/x` } })
    expect(refusing.status()).toBe(201)
    const refused = await refusing.json() as { id: number, name: string }
    ids.push(refused.id)
    await page.reload()
    const bad = page.locator(`[data-testid="webhook-row"][data-webhook-id="${refused.id}"]`)
    await bad.getByTestId('webhook-test').click()
    await expect(page.getByTestId('webhook-notice')).toContainText(`Test to “${refused.name}” failed: receiver answered HTTP 404`)
    const state = bad.getByTestId('delivery-state').first()
    await expect(state).toHaveAttribute('data-state', 'failed')
    expect(await state.evaluate(e => getComputedStyle(e).color)).toMatch(/^rgb\((1[5-9]\d|2\d\d), \d{1,2}, \d{1,2}\)$/)
    await bad.getByTestId('webhook-deliveries').click()
    const failedRow = page.getByTestId('webhook-delivery-log').getByTestId('delivery-row').first()
    await expect(failedRow).toHaveAttribute('data-state', 'failed')
    await expect(failedRow).toContainText('receiver answered HTTP 404')
    expect(await failedRow.evaluate(e => getComputedStyle(e).backgroundColor)).not.toBe('rgba(0, 0, 0, 0)')
  }
  finally {
    for (const id of ids) await page.request.delete(`/api/v1/webhooks/${id}`)
  }
})

test('edits an ntfy channel in place: its settings change, and its token is kept unless a new one is typed', async ({ page }) => {
  await logIn(page)
  const name = `e2e-ntfy-${Date.now()}`
  const created = await page.request.post('/api/v1/webhooks', { data: { type: 'ntfy', name, settings: { server_url: `${base}/ntfy`, topic: 'first', token: 'tk_first' } } })
  expect(created.status()).toBe(201)
  const { id } = await created.json() as { id: number }
  const hitsOf = (topic: string) => hits.filter(h => h.path === `/ntfy/${topic}`)
  try {
    await page.goto('/notifications')
    const row = page.locator(`[data-testid="webhook-row"][data-webhook-id="${id}"]`)
    await row.getByTestId('webhook-edit').click()
    const form = page.getByTestId('webhook-edit-form')
    await expect(form.getByRole('heading')).toHaveText(`Edit “${name}”`)
    await expect(form.getByTestId('webhook-type')).toBeDisabled()
    await expect(form.getByTestId('webhook-name')).toBeFocused()
    await expect(form.getByTestId('channel-topic')).toHaveValue('first')
    await expect(form.getByTestId('channel-server_url')).toHaveValue(`${base}/ntfy`)
    // The token is stored and never shown: blank, and keeps it when left blank.
    await expect(form.getByTestId('channel-token')).toHaveValue('')
    await expect(form.getByTestId('channel-token')).toHaveAttribute('placeholder', '••••••••')

    await form.getByTestId('webhook-name').fill(`${name}-renamed`)
    await form.getByTestId('channel-topic').fill('second')
    await form.getByTestId('webhook-severity').selectOption('error')
    await form.getByTestId('webhook-submit').click()
    await expect(page.getByTestId('webhook-notice')).toHaveText(`Saved “${name}-renamed”.`)
    await expect(form).toHaveCount(0)
    await expect(row).toHaveAttribute('data-name', `${name}-renamed`)
    await expect(row).toContainText('second')
    await expect(row).toContainText('error and above')

    await row.getByTestId('webhook-test').click()
    await expect(page.getByTestId('webhook-notice')).toContainText(`Test delivered to “${name}-renamed”: 200`)
    expect(hitsOf('second').at(-1)?.headers.authorization).toBe('Bearer tk_first')

    // A new token typed in replaces the stored one.
    await row.getByTestId('webhook-edit').click()
    await form.getByTestId('channel-token').fill('tk_second')
    await form.getByTestId('webhook-submit').click()
    await expect(page.getByTestId('webhook-notice')).toHaveText(`Saved “${name}-renamed”.`)
    await row.getByTestId('webhook-test').click()
    await expect(page.getByTestId('webhook-notice')).toContainText('Test delivered')
    expect(hitsOf('second').at(-1)?.headers.authorization).toBe('Bearer tk_second')

    // An optional token can be removed: the next message goes without one.
    await row.getByTestId('webhook-edit').click()
    await expect(form.getByText('Access token (stored: leave blank to keep it)')).toBeVisible()
    await form.getByTestId('channel-token-remove').check()
    await expect(form.getByTestId('channel-token')).toBeDisabled()
    await form.getByTestId('webhook-submit').click()
    await expect(page.getByTestId('webhook-notice')).toHaveText(`Saved “${name}-renamed”.`)
    await row.getByTestId('webhook-test').click()
    await expect(page.getByTestId('webhook-notice')).toContainText('Test delivered')
    expect(hitsOf('second').at(-1)?.headers.authorization).toBeUndefined()

    // Cancel leaves the channel as it was.
    await row.getByTestId('webhook-edit').click()
    await form.getByTestId('channel-topic').fill('third')
    await form.getByRole('button', { name: 'Cancel' }).click()
    await expect(form).toHaveCount(0)
    const stored = await (await page.request.get(`/api/v1/webhooks/${id}`)).json() as { settings: Record<string, unknown> }
    expect(stored.settings.topic).toBe('second')
  }
  finally {
    await page.request.delete(`/api/v1/webhooks/${id}`)
  }
})
