/**
 * Issue 10 in the browser: an admin adds another NodePulse server as a member on the Members page
 * (with a viewer token created on it), sees it become reachable and its nodes reach the dashboard,
 * sees it turn unreachable when it stops, removes it; a member the config file lists shows that it
 * comes from there. A viewer has no Members link and gets the admins-only notice on /members.
 * SHOTS_DIR=<dir> also saves screenshots (1440 and 390 px, light and dark).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, expect, type APIRequestContext } from '@playwright/test'
import type { CreatedNode } from '../../shared/contracts/rest'
import type { MemberView } from '../../shared/contracts/seed003'
import { freePort } from '../integration/support/server'
import { adminApi, logIn, shoot } from './helpers'
import { startOwnServer, type OwnServer } from './server'

test('an admin adds a member on the Members page, sees its nodes, and removes it; a viewer cannot', async ({ browser }) => {
  test.setTimeout(300_000)
  const servers: OwnServer[] = []
  const apis: APIRequestContext[] = []
  const dir = mkdtempSync(join(tmpdir(), 'nodepulse-e2e-members-'))
  let pushing = false
  let pusher: Promise<void> = Promise.resolve()
  try {
    // The member: its own agent node, and a viewer token made on it for the aggregator.
    const member = await startOwnServer({ NODEPULSE_HOSTNAME: 'member-host' })
    servers.push(member)
    const memberApi = await adminApi(member.baseURL)
    apis.push(memberApi)
    const tokenRes = await memberApi.post('/api/v1/tokens', { data: { name: 'aggregator', role: 'viewer' } })
    expect(tokenRes.status()).toBe(201)
    const viewerToken = (await tokenRes.json() as { token: string }).token
    const nodeRes = await memberApi.post('/api/v1/nodes', { data: { hostname: 'web-01' } })
    expect(nodeRes.status()).toBe(201)
    const node = await nodeRes.json() as CreatedNode
    pushing = true
    pusher = (async () => {
      while (pushing) {
        await memberApi.post(`/api/v1/nodes/${node.id}/stats`, {
          headers: { authorization: `Bearer ${node.token}` }, data: { cpu_percent: 17, memory_percent: 40, disk_percent: 50, uptime_seconds: 100 },
        }).catch(() => null)
        await new Promise(resolve => setTimeout(resolve, 1000))
      }
    })()

    // The aggregator polls every second; its config file lists one member at a port nobody listens on.
    const deadPort = await freePort()
    const config = join(dir, 'nodepulse.yaml')
    writeFileSync(config, [
      'cluster:',
      '  aggregation_interval: 1',
      '  request_timeout: 2',
      '  manual_nodes:',
      `    - { name: lab, url: "http://127.0.0.1:${deadPort}", token: "npt_not-a-real-token" }`,
    ].join('\n'))
    const hub = await startOwnServer({ NODEPULSE_HOSTNAME: 'hub-host', NODEPULSE_CONFIG: config })
    servers.push(hub)
    const hubApi = await adminApi(hub.baseURL)
    apis.push(hubApi)

    const context = await browser.newContext({ baseURL: hub.baseURL, viewport: { width: 1440, height: 1000 } })
    try {
      const page = await context.newPage()
      await logIn(page)
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Members' }).click()
      await expect(page).toHaveURL(/\/members$/)

      // The file's member: marked as such, unreachable with the reason.
      const lab = page.locator('[data-testid="member-row"][data-name="lab"]')
      await expect(lab.getByTestId('member-origin')).toHaveAttribute('data-origin', 'file')
      await expect(lab.getByTestId('member-origin')).toHaveText('config file')
      await expect(lab.getByTestId('member-state')).toHaveAttribute('data-state', 'unreachable', { timeout: 15_000 })
      await expect(lab.getByTestId('member-error')).toContainText(/refused/i)
      await expect(lab.getByTestId('member-polled')).toContainText('polled')

      // Add member, from the keyboard; the token field is a password field.
      await page.getByTestId('add-member').click()
      await expect(page.getByTestId('member-name')).toBeFocused()
      await page.keyboard.type('site-a')
      await page.keyboard.press('Tab')
      await expect(page.getByTestId('member-url')).toBeFocused()
      await page.keyboard.type('ftp://127.0.0.1/')
      await page.keyboard.press('Tab')
      await expect(page.getByTestId('member-token')).toBeFocused()
      await expect(page.getByTestId('member-token')).toHaveAttribute('type', 'password')
      await page.keyboard.type(viewerToken)
      await page.keyboard.press('Enter')
      // The server's 422 is shown at the field it names.
      await expect(page.getByTestId('member-url-error')).toContainText('must be an http:// or https:// URL')
      await expect(page.getByTestId('member-url')).toHaveAttribute('aria-invalid', 'true')
      await expect(page.getByTestId('member-name')).toHaveAttribute('aria-invalid', 'false')
      await shoot(page, 'members', 'form-error')

      // A name already taken (the file's member): 409 at the name.
      await page.getByTestId('member-name').fill('lab')
      await page.getByTestId('member-url').fill(member.baseURL)
      await page.getByTestId('member-submit').click()
      await expect(page.getByTestId('member-name-error')).toContainText('A member named "lab" already exists')
      await expect(page.getByTestId('member-name')).toHaveAttribute('aria-invalid', 'true')
      await expect(page.getByTestId('member-url-error')).toHaveCount(0)

      await page.getByTestId('member-name').fill('site-a')
      await page.getByTestId('member-submit').click()
      await expect(page.getByTestId('member-form')).toHaveCount(0)
      const siteA = page.locator('[data-testid="member-row"][data-name="site-a"]')
      await expect(siteA.getByTestId('member-origin')).toHaveAttribute('data-origin', 'api')
      await expect(siteA.getByTestId('member-url-cell')).toHaveText(member.baseURL)
      // The token is never shown back.
      expect(await page.content()).not.toContain(viewerToken)
      const listed = await (await hubApi.get('/api/v1/members')).json() as MemberView[]
      expect(JSON.stringify(listed)).not.toContain(viewerToken)

      // It becomes reachable, with its two nodes (the member's own host and its agent).
      await expect(siteA.getByTestId('member-state')).toHaveAttribute('data-state', 'reachable', { timeout: 20_000 })
      await expect(siteA.getByTestId('member-nodes')).toHaveText('2', { timeout: 15_000 })
      await expect(siteA.getByTestId('member-error')).toHaveCount(0)
      await shoot(page, 'members', 'list')

      // Its nodes are on the dashboard, tagged with the member.
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click()
      const web01 = page.locator('[data-testid="node-card"][data-hostname="site-a / web-01"]')
      await expect(web01.getByTestId('member-tag')).toHaveText('site-a', { timeout: 20_000 })
      await expect(page.locator('[data-testid="node-card"][data-hostname="site-a / member-host"]')).toHaveCount(1)

      // The member stops: unreachable, with the error.
      pushing = false
      await pusher
      await member.stop()
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Members' }).click()
      await expect(siteA.getByTestId('member-state')).toHaveAttribute('data-state', 'unreachable', { timeout: 20_000 })
      await expect(siteA.getByTestId('member-error')).not.toBeEmpty()
      await shoot(page, 'members', 'unreachable')

      // Remove it: the dialog says its nodes and history stay; Cancel keeps it.
      await siteA.getByTestId('remove-member').click()
      const dialog = page.getByRole('dialog')
      await expect(dialog).toContainText('Remove the member “site-a”?')
      await expect(dialog).toContainText('2 nodes stay here with their history')
      await expect(dialog).not.toContainText('config file')
      await dialog.getByTestId('confirm-cancel').click()
      await expect(siteA).toHaveCount(1)
      await siteA.getByTestId('remove-member').click()
      await page.getByRole('dialog').getByTestId('confirm-ok').click()
      await expect(siteA).toHaveCount(0)
      await expect(page.getByTestId('member-notice')).toHaveText('Removed “site-a”.')
      expect((await (await hubApi.get('/api/v1/members')).json() as MemberView[]).map(m => m.name)).toEqual(['lab'])

      // The file's member: the dialog warns that the file brings it back; removed, the empty state explains members.
      await lab.getByTestId('remove-member').click()
      await expect(page.getByRole('dialog')).toContainText('NODEPULSE_CONFIG')
      await page.getByRole('dialog').getByTestId('confirm-ok').click()
      await expect(lab).toHaveCount(0)
      await expect(page.getByTestId('members-empty')).toContainText('Aggregate other NodePulse servers')
      await expect(page.getByTestId('members-discovered')).toHaveCount(0)
      await shoot(page, 'members', 'empty')

      // The removed member's nodes stay, with their history.
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click()
      await expect(web01).toHaveCount(1)
    }
    finally {
      await context.close()
    }

    // A viewer: no Members link, and the admins-only notice on /members.
    const viewer = { username: 'members-viewer', password: 'viewer-password-1' }
    expect((await hubApi.post('/api/v1/users', { data: { ...viewer, role: 'viewer' } })).status()).toBe(201)
    const viewerContext = await browser.newContext({ baseURL: hub.baseURL })
    try {
      const page = await viewerContext.newPage()
      await logIn(page, viewer)
      await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Members' })).toHaveCount(0)
      await page.goto('/members')
      await expect(page.getByText('Only admins can see and manage members')).toBeVisible()
      await expect(page.getByTestId('add-member')).toHaveCount(0)
      await expect(page.getByTestId('member-row')).toHaveCount(0)
    }
    finally {
      await viewerContext.close()
    }
  }
  finally {
    pushing = false
    await pusher.catch(() => {})
    await Promise.all(apis.map(a => a.dispose().catch(() => {})))
    await Promise.all(servers.map(s => s.dispose()))
    rmSync(dir, { recursive: true, force: true })
  }
})

