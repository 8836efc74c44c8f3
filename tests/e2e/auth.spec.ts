import { test, expect } from '@playwright/test'
import { E2E_ADMIN } from '../../playwright.config'

test('a wrong password shows the server\'s error and keeps the visitor logged out', async ({ page, context }) => {
  await page.goto('/nodes')
  await expect(page).toHaveURL(url => url.pathname === '/login' && url.searchParams.get('redirect') === '/nodes')

  await page.getByTestId('login-username').fill(E2E_ADMIN.username)
  await page.getByTestId('login-password').fill(`${E2E_ADMIN.password}-wrong`)
  await page.getByTestId('login-submit').click()

  await expect(page.getByRole('alert')).toHaveText('Invalid username or password')
  await expect(page).toHaveURL(/\/login/)
  await expect(page.getByTestId('logout')).toHaveCount(0)
  expect((await context.request.get('/api/v1/auth/me')).status()).toBe(401)
})

test('the setup page is closed once an admin exists', async ({ page }) => {
  expect(await (await page.request.get('/api/v1/auth/setup')).json()).toEqual({ setup_required: false })
  await page.goto('/setup')
  await expect(page).toHaveURL(/\/login$/)
})

test('an anonymous first visit reaches the login page without a failed request or a console error', async ({ browser, baseURL }) => {
  const context = await browser.newContext({ baseURL })
  const page = await context.newPage()
  const problems: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`)
  })
  page.on('pageerror', error => problems.push(`page error: ${error.message}`))
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`)
  })
  page.on('requestfailed', request => problems.push(`failed ${request.url()}`))
  try {
    await page.goto('/')
    await expect(page).toHaveURL(url => url.pathname === '/login')
    await expect(page.getByTestId('login-submit')).toBeVisible()
    // Whatever the page still starts after showing the form has time to fail.
    await page.waitForLoadState('networkidle')
    expect(problems).toEqual([])
  }
  finally {
    await context.close()
  }
})
