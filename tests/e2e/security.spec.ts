import { test, expect } from '@playwright/test'
import { logIn } from './helpers'

/**
 * The pages run under their Content-Security-Policy (server/plugins/securityHeaders.ts): every
 * page an operator opens loads, streams and renders with no violation reported in Chromium.
 */
test('the dashboard and its pages load under the CSP with no violation', async ({ page }) => {
  const violations: string[] = []
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to (load|execute|apply|connect|frame)/i.test(m.text())) violations.push(m.text())
  })
  // Reported by the browser itself, whether or not it also logs to the console.
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`)
    })
  })
  const first = await page.goto('/login')
  expect(first!.headers()['content-security-policy']).toContain('frame-ancestors \'none\'')
  await logIn(page)
  // The dashboard's stream brings cards: scripts, styles and the EventSource all ran.
  await expect(page.getByTestId('node-card').first()).toBeVisible({ timeout: 15_000 })
  for (const path of ['/nodes', '/events', '/webhooks', '/users', '/tokens']) {
    await page.goto(path)
    await expect(page.getByTestId('current-user')).toBeVisible()
  }
  await page.goto('/')
  await expect(page.getByTestId('node-card').first()).toBeVisible({ timeout: 15_000 })
  expect(violations).toEqual([])
})
