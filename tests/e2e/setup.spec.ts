import { test, expect } from '@playwright/test'
import { startServer } from '../integration/support/server'

// The shared e2e server starts with NODEPULSE_ADMIN_PASSWORD, so its setup page is closed for good.
// This test runs a fresh server of its own (the built one, without an admin password) for a few
// seconds, as a new user's first start would.
test('a fresh server\'s first visit shows setup, and creating the admin lands on the live dashboard', async ({ page }) => {
  test.setTimeout(90_000)
  const fresh = await startServer({ label: 'e2e-setup', env: { NODEPULSE_ADMIN_PASSWORD: '' } })
  try {
    const { baseURL } = fresh.info
    await page.goto(`${baseURL}/nodes`)
    await expect(page).toHaveURL(url => url.pathname === '/setup')
    await expect(page.getByRole('heading', { name: 'Welcome to NodePulse' })).toBeVisible()

    await page.getByTestId('setup-username').fill('owner')
    await page.getByTestId('setup-password').fill('first-admin-password')
    await page.getByTestId('setup-submit').click()

    await expect(page).toHaveURL(url => url.origin === baseURL && url.pathname === '/')
    await expect(page.getByTestId('current-user')).toContainText('owner')
    await expect(page.getByTestId('live-indicator')).toHaveText('Dashboard stream: live')
    await expect(page.getByTestId('node-card').filter({ has: page.getByTestId('master-tag') })).toHaveCount(1)
    await expect(page.getByTestId('add-node-hint')).toBeVisible()

    // Setup is closed now: the page sends a signed-in admin home.
    await page.goto(`${baseURL}/setup`)
    await expect(page).toHaveURL(url => url.pathname === '/')
    expect(await (await page.request.get(`${baseURL}/api/v1/auth/setup`)).json()).toEqual({ setup_required: false })
  }
  finally {
    await fresh.stop()
  }
})
