import { test, expect } from '@playwright/test'
import { E2E_ADMIN } from '../../playwright.config'
import { logIn } from './helpers'

test('an admin adds a viewer, who sees nodes without admin actions, then deletes them', async ({ page, browser, baseURL }) => {
  const viewer = { username: `e2e-viewer-${Date.now()}`, password: 'viewer-password-1' }
  await logIn(page, E2E_ADMIN)
  await page.getByRole('link', { name: 'Users' }).click()
  await page.getByTestId('add-user').click()
  await page.getByTestId('user-username').fill(viewer.username)
  await page.getByTestId('user-password').fill(viewer.password)
  await page.getByTestId('user-role').selectOption('viewer')
  await page.getByTestId('user-submit').click()
  const row = page.locator(`[data-testid="user-row"][data-username="${viewer.username}"]`)
  await expect(row).toContainText('viewer')
  // Admins cannot delete themselves from the page.
  await expect(page.locator(`[data-testid="user-row"][data-username="${E2E_ADMIN.username}"] [data-testid="delete-user"]`)).toHaveCount(0)

  const viewerContext = await browser.newContext({ baseURL })
  const viewerPage = await viewerContext.newPage()
  await logIn(viewerPage, viewer)
  await viewerPage.goto('/nodes')
  await expect(viewerPage.getByTestId('node-row').first()).toBeVisible()
  await expect(viewerPage.getByTestId('add-node')).toHaveCount(0)
  await expect(viewerPage.getByTestId('rotate-token')).toHaveCount(0)
  await expect(viewerPage.getByTestId('delete-node')).toHaveCount(0)
  await expect(viewerPage.getByRole('navigation', { name: 'Main' }).getByRole('link')).toHaveText(['Dashboard', 'Nodes', 'Compare', 'Events', 'Alerts', 'Requests'])
  await viewerPage.goto('/tokens')
  await expect(viewerPage.getByText('Only admins can see and manage API tokens')).toBeVisible()
  await expect(viewerPage.getByTestId('add-token')).toHaveCount(0)
  await viewerContext.close()

  await row.getByTestId('delete-user').click()
  await page.getByRole('dialog').getByTestId('confirm-ok').click()
  await expect(row).toHaveCount(0)
})
