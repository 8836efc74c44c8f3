import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
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
  expect(curl.writeOut).toBe('\\n')

  // The copied command works pasted into a shell (no session cookie): the sample is stored, and the
  // printed answer ends with a newline, so the prompt comes back on a line of its own.
  const { stdout } = await promisify(execFile)('sh', ['-c', `${command} --silent --show-error`], { timeout: 10_000 })
  expect(stdout.endsWith('}\n')).toBe(true)
  expect(JSON.parse(stdout)).toMatchObject({ node_id: id, accepted: 1, stored: 1 })

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

test('the Add node form shows the server\'s refusal: a 422 names the field, a taken hostname names the node that has it', async ({ page }) => {
  const hostname = `e2e-dup-${Date.now()}`
  const first = await page.request.post('/api/v1/nodes', { data: { hostname } })
  expect(first.status()).toBe(201)
  const { id } = await first.json() as { id: number }
  try {
    await page.getByTestId('add-node').click()
    const form = page.getByTestId('add-node-form')
    const field = page.getByTestId('node-hostname')

    await field.fill('bad host name')
    await page.getByTestId('node-submit').click()
    await expect(form.getByRole('alert')).toContainText('hostname')
    await expect(page.getByTestId('node-hostname-error')).toHaveText('may hold only letters, digits, ".", "-", "_" and ":"')
    await expect(field).toHaveAttribute('aria-invalid', 'true')
    await expect(field).toHaveAttribute('aria-describedby', 'node-hostname-error')

    await field.fill(hostname.toUpperCase())
    await page.getByTestId('node-submit').click()
    await expect(page.getByTestId('node-hostname-error')).toHaveText(`A node named ${hostname} already exists (id ${id}): choose another hostname, or use that node's token`)
    await expect(field).toHaveAttribute('aria-invalid', 'true')
    // Said once, under the field, not again above the buttons.
    await expect(form.getByRole('alert')).toHaveCount(0)
    await expect(page.locator(`[data-testid="node-row"][data-hostname="${hostname.toUpperCase()}"]`)).toHaveCount(0)

    // Labels the form cannot read are refused before anything is sent.
    await field.fill(`${hostname}-2`)
    await page.getByTestId('node-labels').fill('no-equals-sign')
    await page.getByTestId('node-submit').click()
    await expect(form.getByRole('alert')).toHaveText('Label "no-equals-sign" must be written as key=value')
    await page.getByRole('button', { name: 'Cancel' }).click()
  }
  finally {
    await page.request.delete(`/api/v1/nodes/${id}`)
  }
})

for (const width of [1440, 390]) {
  test(`at ${width} px the pages fit without sideways scrolling, the header stays short, and every action is reachable`, async ({ page }) => {
    test.setTimeout(60_000)
    const node = await page.request.post('/api/v1/nodes', { data: { hostname: `e2e-fit-${width}-a-rather-long-hostname.example.com`, labels: { cluster: 'fit', env: 'production', rack: 'r12' } } })
    expect(node.status()).toBe(201)
    const { id } = await node.json() as { id: number }
    const hook = await page.request.post('/api/v1/webhooks', { data: { name: `e2e-fit-${width}`, url: 'http://127.0.0.1:9/a/rather/long/path/for/a/webhook/receiver?with=query' } })
    expect(hook.status()).toBe(201)
    const hookId = (await hook.json() as { id: number }).id
    const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)
    try {
      await page.setViewportSize({ width, height: 900 })
      const header = page.locator('header')
      const menu = page.getByTestId('menu-toggle')
      const nav = page.getByRole('navigation', { name: 'Main' })
      for (const path of ['/', '/nodes', '/webhooks', '/events', '/compare', '/alerts', '/requests', '/tokens', '/users', '/members']) {
        await page.goto(path)
        await expect(page.getByTestId('event-stream-state')).toHaveText('Events: live')
        expect(await fits(), `${path} fits ${width} px`).toBe(true)
        // One line of brand and controls (plus one of stream states on a phone, one of links on a wide screen).
        expect((await header.boundingBox())!.height, `header height on ${path}`).toBeLessThanOrEqual(width < 768 ? 90 : 100)
      }
      if (width < 768) {
        await expect(nav).toBeHidden()
        await menu.click()
        await expect(menu).toHaveAttribute('aria-expanded', 'true')
        await expect(nav.getByRole('link', { name: 'Users' })).toBeInViewport()
        await expect(page.getByTestId('logout')).toBeInViewport()
        await nav.getByRole('link', { name: 'Nodes', exact: true }).click()
        await expect(page).toHaveURL(/\/nodes$/)
        await expect(nav).toBeHidden()
      }
      else {
        await expect(menu).toBeHidden()
        await expect(nav.getByRole('link', { name: 'Users' })).toBeInViewport()
        await page.goto('/nodes')
      }

      // The Nodes table: each row's actions are buttons on screen, named for screen readers.
      const row = page.locator(`[data-testid="node-row"][data-node-id="${id}"]`)
      await expect(row).toContainText('rack=r12')
      await row.scrollIntoViewIfNeeded()
      for (const name of ['Start maintenance', 'Install agent', 'Rotate token', 'Delete']) {
        await expect(row.getByRole('button', { name, exact: true })).toBeInViewport()
      }
      expect(await page.locator('table').evaluate(t => t.scrollWidth <= t.parentElement!.clientWidth)).toBe(true)
      if (width < 768) await expect(row.getByTestId('node-compact')).toHaveText('CPU — · mem — · disk — · never seen')
      await row.getByRole('button', { name: 'Start maintenance' }).click()
      await expect(row.getByRole('button', { name: 'End maintenance', exact: true })).toHaveAttribute('aria-pressed', 'true')
      expect(await fits()).toBe(true)

      await page.goto('/webhooks')
      const hookRow = page.locator(`[data-testid="webhook-row"][data-webhook-id="${hookId}"]`)
      await hookRow.scrollIntoViewIfNeeded()
      for (const name of ['Send test', 'Deliveries', 'Disable', 'Rotate secret', 'Delete']) {
        await expect(hookRow.getByRole('button', { name, exact: true })).toBeInViewport()
      }
      expect(await page.locator('table').evaluate(t => t.scrollWidth <= t.parentElement!.clientWidth)).toBe(true)
      // Compact: the row is no taller than three lines of text and its buttons.
      expect((await hookRow.boundingBox())!.height).toBeLessThanOrEqual(width < 768 ? 100 : 70)
    }
    finally {
      await page.request.delete(`/api/v1/nodes/${id}`)
      await page.request.delete(`/api/v1/webhooks/${hookId}`)
    }
  })
}

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
