import { test, expect, type Page } from '@playwright/test'
import type { EventView } from '../../shared/contracts/seed002'
import { addNode, logIn, type Agent } from './helpers'

/**
 * Silences in the browser: an admin silences a node from the Nodes page's shortcut (the form comes
 * filled in), sees it listed with its reason and time left, the node's card and its events carry
 * the muted mark, and "End now" ends it.
 */

async function backupFailed(page: Page, agent: Agent): Promise<EventView> {
  const response = await page.request.post(`/api/v1/nodes/${agent.id}/events`, {
    headers: { authorization: `Bearer ${agent.token}` }, data: { event_type: 'backup_failed', message: `${agent.hostname}: nightly backup failed` },
  })
  expect(response.status()).toBe(201)
  return await response.json() as EventView
}

test('an admin silences a node from its row, sees it listed and marked on the dashboard and the Nodes page, then ends it', async ({ page }) => {
  // Four pages and a form on a shared 2-core machine: more than the default 30 s at times.
  test.setTimeout(60_000)
  await logIn(page)
  const agent = await addNode(page, `silence-e2e-${Date.now()}`)

  await page.goto('/nodes')
  await page.locator(`[data-testid="node-row"][data-node-id="${agent.id}"]`).getByTestId('silence-node').click()
  await expect(page).toHaveURL(/view=silences/)
  const form = page.getByTestId('silence-form')
  await expect(form.getByTestId(`silence-node-${agent.id}`)).toBeChecked()
  await expect(form.getByTestId('silence-reason-input')).toHaveValue(`Maintenance of ${agent.hostname}`)
  await form.getByTestId('silence-duration-4h').check()
  await form.getByTestId('silence-reason-input').fill('Swapping the disks')
  await form.getByTestId('silence-submit').click()
  await expect(form).toBeHidden()
  await expect(page).not.toHaveURL(/silence_node/)

  const item = page.getByTestId('silence-item').filter({ hasText: 'Swapping the disks' })
  await expect(item).toHaveAttribute('data-state', 'active')
  await expect(item.getByTestId('silence-matchers')).toHaveText(agent.hostname)
  await expect(item.getByTestId('silence-time')).toHaveText(/ends in (3 h 59 min|4 h)$/)

  // Its event is listed, marked, and raises no toast.
  const muted = await backupFailed(page, agent)
  await page.getByRole('tab', { name: 'Events' }).click()
  const listed = page.locator(`[data-testid="event-item"][data-event-id="${muted.id}"]`)
  await expect(listed.getByTestId('silence-tag')).toHaveAttribute('title', /Swapping the disks/)
  await expect(page.locator('[data-sonner-toast]').filter({ hasText: agent.hostname })).toHaveCount(0)

  await page.goto('/')
  await expect(page.locator(`[data-testid="node-card"][data-node-id="${agent.id}"]`).getByTestId('silence-tag')).toBeVisible()
  await page.goto('/nodes')
  await expect(page.locator(`[data-testid="node-row"][data-node-id="${agent.id}"]`).getByTestId('silence-tag')).toHaveAttribute('title', /Swapping the disks/)

  await page.goto('/events?view=silences')
  await item.getByTestId('silence-end').click()
  await page.getByRole('dialog').getByTestId('confirm-ok').click()
  await expect(item).toHaveAttribute('data-state', 'expired')
  await expect(item.getByTestId('silence-time')).toHaveText(/ended early/)
  await page.goto('/')
  await expect(page.locator(`[data-testid="node-card"][data-node-id="${agent.id}"]`)).toBeVisible()
  await expect(page.locator(`[data-testid="node-card"][data-node-id="${agent.id}"]`).getByTestId('silence-tag')).toHaveCount(0)
  await page.goto('/nodes')
  await expect(page.locator(`[data-testid="node-row"][data-node-id="${agent.id}"]`)).toBeVisible()
  await expect(page.locator(`[data-testid="node-row"][data-node-id="${agent.id}"]`).getByTestId('silence-tag')).toHaveCount(0)
})

test('the form names the field the server refused, and a new silence by label needs no node', async ({ page }) => {
  await logIn(page)
  await page.goto('/events?view=silences')
  await page.getByTestId('silence-new').click()
  const form = page.getByTestId('silence-form')
  await form.getByTestId('silence-reason-input').fill('Rack r9 powered down')
  await form.getByTestId('silence-submit').click()
  await expect(form).toContainText('give at least one matcher')
  await form.getByTestId('silence-label').fill('rack=r9')
  await form.getByTestId('silence-submit').click()
  const item = page.getByTestId('silence-item').filter({ hasText: 'Rack r9 powered down' })
  await expect(item.getByTestId('silence-matchers')).toHaveText('rack=r9')
  await item.getByTestId('silence-end').click()
  await page.getByRole('dialog').getByTestId('confirm-ok').click()
  await expect(item).toHaveAttribute('data-state', 'expired')
})
