import { test, expect, type APIRequestContext } from '@playwright/test'
import { E2E_ADMIN } from '../../playwright.config'
import { logIn, parseCurl, secondsAgo, type CurlRequest } from './helpers'
import { startOwnServer } from './server'

/** Runs the request a curl command describes, as the operator's shell would. */
function runCurl(request: APIRequestContext, curl: CurlRequest) {
  return request.fetch(curl.url, { method: curl.method, headers: curl.headers, data: curl.data })
}

test.beforeEach(async ({ page }) => {
  await logIn(page, E2E_ADMIN)
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Nodes', exact: true }).click()
  await expect(page).toHaveURL(/\/nodes$/)
})

test('an admin adds a node, pushes a sample with its curl command, rotates its token and deletes it', async ({ page, request, baseURL, context }) => {
  test.setTimeout(60_000)
  const hostname = `e2e-node-${Date.now()}`

  // The master row is there and cannot be rotated or deleted.
  const master = page.locator('[data-testid="node-row"][data-kind="master"]')
  await expect(master).toHaveCount(1)
  await expect(master.getByTestId('rotate-token')).toHaveCount(0)
  await expect(master.getByTestId('delete-node')).toHaveCount(0)

  await page.getByTestId('add-node').click()
  await page.getByTestId('node-hostname').fill(hostname)
  await page.getByTestId('node-labels').fill('env=e2e, rack=r7')
  await page.getByTestId('node-submit').click()

  const tokenValue = page.getByTestId('token-value')
  await expect(tokenValue).toHaveText(/^npa_[\w-]{40,}$/)
  const token = (await tokenValue.textContent())!.trim()

  const row = page.locator(`[data-testid="node-row"][data-hostname="${hostname}"]`)
  await expect(row).toHaveCount(1)
  const id = Number(await row.getAttribute('data-node-id'))
  expect(id).toBeGreaterThan(0)
  await expect(row.getByTestId('node-status')).toHaveText('pending')
  await expect(row.getByTestId('node-last-seen')).toHaveText('never')
  await expect(row).toContainText('env=e2e')
  await expect(row).toContainText('rack=r7')

  // Copy the command as a user would, and check the clipboard holds what the page shows.
  await page.getByTestId('copy-curl').click()
  await expect(page.getByTestId('copy-curl')).toHaveText('Copied')
  const command = await page.evaluate(() => navigator.clipboard.readText())
  await expect(page.getByTestId('curl-command')).toHaveText(command)
  const curl = parseCurl(command)
  expect(curl.method).toBe('POST')
  expect(curl.url).toBe(`${baseURL}/api/v1/nodes/${id}/stats`)
  expect(curl.headers.authorization).toBe(`Bearer ${token}`)
  expect(curl.headers['content-type']).toBe('application/json')

  // The copied command works: the sample is stored, from a client with no session cookie.
  const pushed = await runCurl(request, curl)
  expect(pushed.status()).toBe(200)
  expect(await pushed.json()).toMatchObject({ node_id: id, accepted: 1, stored: 1 })

  // The list refreshes every 5 s: the node turns online with the pushed figures.
  await expect(row.getByTestId('node-status')).toHaveText('online', { timeout: 8_000 })
  await expect(row.getByTestId('node-status')).toHaveAttribute('data-status', 'online')
  await expect(row.getByTestId('node-cpu')).toHaveText('12.5 %')
  await expect(row.getByTestId('node-memory')).toHaveText('40 %')
  await expect(row.getByTestId('node-disk')).toHaveText('51 %')
  const lastSeen = row.getByTestId('node-last-seen')
  await expect(lastSeen).toHaveText(/^(just now|\d+ s ago)$/)
  const firstAge = secondsAgo(await lastSeen.textContent())
  expect(firstAge).toBeLessThan(15)
  // …and the last-seen time keeps counting between refreshes.
  await expect.poll(async () => secondsAgo(await lastSeen.textContent()), { timeout: 5_000 }).toBeGreaterThan(firstAge)

  // Rotate: confirm, a new token and command appear, the old token is refused.
  await row.getByTestId('rotate-token').click()
  const dialog = page.getByRole('dialog')
  await expect(dialog).toContainText(hostname)
  await dialog.getByTestId('confirm-ok').click()
  await expect(dialog).toBeHidden()
  await expect(tokenValue).toHaveText(/^npa_[\w-]{40,}$/)
  await expect(tokenValue).not.toHaveText(token)
  const newToken = (await tokenValue.textContent())!.trim()
  const rotatedCurl = parseCurl((await page.getByTestId('curl-command').textContent())!)
  expect(rotatedCurl.headers.authorization).toBe(`Bearer ${newToken}`)
  expect((await runCurl(request, curl)).status()).toBe(401)
  expect((await runCurl(request, rotatedCurl)).status()).toBe(200)

  // Delete: Cancel and Esc keep the node; confirming removes it.
  await row.getByTestId('delete-node').click()
  await expect(dialog).toContainText(`Delete ${hostname}?`)
  await dialog.getByTestId('confirm-cancel').click()
  await expect(dialog).toBeHidden()
  await row.getByTestId('delete-node').click()
  await expect(dialog).toBeVisible()
  await page.keyboard.press('Escape')
  await expect(dialog).toBeHidden()
  await expect(row).toHaveCount(1)
  await row.getByTestId('delete-node').click()
  await dialog.getByTestId('confirm-ok').click()
  await expect(row).toHaveCount(0)
  expect((await context.request.get(`/api/v1/nodes/${id}`)).status()).toBe(404)
  expect((await runCurl(request, rotatedCurl)).status()).toBe(401)
})

test('an admin creates an API token, sees its secret once, and deletes it', async ({ page, request }) => {
  const name = `e2e-token-${Date.now()}`
  await page.getByRole('link', { name: 'Tokens' }).click()
  await expect(page).toHaveURL(/\/tokens$/)

  await page.getByTestId('add-token').click()
  await page.getByTestId('token-name').fill(name)
  await page.getByTestId('token-role').selectOption('viewer')
  await page.getByTestId('token-submit').click()

  const secret = page.getByTestId('token-value')
  await expect(secret).toHaveText(/^np_[\w-]{40,}$/)
  const token = (await secret.textContent())!.trim()
  const row = page.locator(`[data-testid="token-row"][data-name="${name}"]`)
  await expect(row).toHaveCount(1)
  await expect(row).toContainText('viewer')
  await expect(row).not.toContainText(token)

  const auth = { Authorization: `Bearer ${token}` }
  const me = await request.get('/api/v1/auth/me', { headers: auth })
  expect(me.status()).toBe(200)
  expect(await me.json()).toMatchObject({ role: 'viewer', via: 'token' })

  // After a reload the secret is gone for good.
  await page.reload()
  await expect(row).toHaveCount(1)
  await expect(page.getByTestId('token-value')).toHaveCount(0)

  await row.getByTestId('delete-token').click()
  const dialog = page.getByRole('dialog')
  await expect(dialog).toContainText(name)
  await dialog.getByTestId('confirm-ok').click()
  await expect(row).toHaveCount(0)
  expect((await request.get('/api/v1/auth/me', { headers: auth })).status()).toBe(401)
})

test('logging out returns to the login page and ends the session', async ({ page, context }) => {
  expect((await context.request.get('/api/v1/auth/me')).status()).toBe(200)
  await page.getByTestId('logout').click()
  await expect(page).toHaveURL(/\/login$/)
  await expect(page.getByTestId('login-username')).toBeVisible()
  expect((await context.request.get('/api/v1/auth/me')).status()).toBe(401)

  // Pages now send the visitor to log in, and back to where they were going after it.
  await page.goto('/tokens')
  await expect(page).toHaveURL(url => url.pathname === '/login' && url.searchParams.get('redirect') === '/tokens')
  await page.getByTestId('login-username').fill(E2E_ADMIN.username)
  await page.getByTestId('login-password').fill(E2E_ADMIN.password)
  await page.getByTestId('login-submit').click()
  await expect(page).toHaveURL(/\/tokens$/)
})

test('after a hostname change the old master turns stale on the dashboard and can be deleted; the live one cannot', async ({ browser }) => {
  test.setTimeout(60_000)
  const server = await startOwnServer({ NODEPULSE_HOSTNAME: 'e2e-old-host', NODEPULSE_STALE_AFTER: '3' })
  const context = await browser.newContext({ baseURL: server.baseURL })
  try {
    await server.stop()
    await server.start({ NODEPULSE_HOSTNAME: 'e2e-new-host' })
    const page = await context.newPage()
    await logIn(page)
    const card = (hostname: string) => page.locator(`[data-testid="node-card"][data-hostname="${hostname}"]`)
    await expect(card('e2e-new-host')).toHaveAttribute('data-status', 'online')
    await expect(card('e2e-new-host').getByTestId('card-last-seen')).toHaveText('live')
    // Nothing samples the old host any more: stale once its last sample is 3 s old, with its age shown.
    await expect(card('e2e-old-host')).toHaveAttribute('data-status', 'stale', { timeout: 10_000 })
    await expect(card('e2e-old-host').getByTestId('card-last-seen')).toHaveText(/ago$/)

    await page.goto('/nodes')
    const row = (hostname: string) => page.locator(`[data-testid="node-row"][data-hostname="${hostname}"]`)
    await expect(row('e2e-new-host').getByTestId('delete-node')).toHaveCount(0)
    await expect(row('e2e-old-host').getByTestId('rotate-token')).toHaveCount(0)
    await row('e2e-old-host').getByTestId('delete-node').click()
    await page.getByTestId('confirm-ok').click()
    await expect(row('e2e-old-host')).toHaveCount(0)
    await expect(row('e2e-new-host')).toHaveCount(1)
  }
  finally {
    await context.close()
    await server.dispose()
  }
})
