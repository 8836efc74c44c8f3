import { test, expect, type Locator, type Page } from '@playwright/test'
import type { NodeView } from '../../shared/contracts/rest'
import { logIn } from './helpers'

/** Presses enough times to go round a dialog's few stops more than once. */
const PRESSES = 9

/** Adds an agent node through the API with the page's admin session; returns its id and hostname. */
async function addNode(page: Page, name: string): Promise<NodeView> {
  const response = await page.request.post('/api/v1/nodes', { data: { hostname: `e2e-dialogs-${Date.now()}-${name}`, labels: {} } })
  expect(response.status()).toBe(201)
  return await response.json() as NodeView
}

/** What has focus, named by test id (or tag), or null when focus is not inside the open dialog. */
function focusInDialog(page: Page): Promise<string | null> {
  return page.evaluate(() => {
    const dialog = document.querySelector('dialog[open]')
    const active = document.activeElement
    if (!dialog || !active || !dialog.contains(active)) return null
    return active.getAttribute('data-testid') ?? active.tagName.toLowerCase()
  })
}

/** Presses `key` PRESSES times, checking after each that focus is still inside the dialog; returns where it went. */
async function pressInside(page: Page, key: 'Tab' | 'Shift+Tab', presses = PRESSES): Promise<string[]> {
  const path: string[] = []
  for (let i = 1; i <= presses; i++) {
    await page.keyboard.press(key)
    const where = await focusInDialog(page)
    expect(where, `after ${key} number ${i}, focus is inside the dialog`).not.toBeNull()
    path.push(where!)
  }
  return path
}

/** Every stop Tab reaches in the open dialog, in order, from the first to the last. */
function dialogStops(dialog: Locator): Promise<string[]> {
  return dialog.evaluate(d => [...d.querySelectorAll<HTMLElement>('a[href], button:not([disabled]), input, select, textarea, [tabindex]')]
    .filter(el => el.tabIndex >= 0 && el.getClientRects().length > 0)
    .map(el => el.getAttribute('data-testid') ?? el.tagName.toLowerCase()))
}

test.beforeEach(async ({ page }) => {
  await logIn(page)
})

test('the delete confirm keeps Tab and Shift+Tab inside, closes on Esc and gives focus back to Delete', async ({ page }) => {
  const node = await addNode(page, 'confirm')
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Nodes', exact: true }).click()
  const row = page.locator(`[data-testid="node-row"][data-node-id="${node.id}"]`)
  const remove = row.getByTestId('delete-node')
  await remove.click()

  const dialog = page.getByRole('dialog')
  await expect(dialog).toContainText(node.hostname)
  await expect(dialog.getByTestId('confirm-cancel')).toBeFocused()
  // Two stops: Tab and Shift+Tab alternate between them, wrapping at both ends.
  const alternate = (from: string, other: string) => Array.from({ length: PRESSES }, (_, i) => (i % 2 ? from : other))
  expect(await pressInside(page, 'Tab')).toEqual(alternate('confirm-cancel', 'confirm-ok'))
  expect(await pressInside(page, 'Shift+Tab')).toEqual(alternate('confirm-ok', 'confirm-cancel'))

  await page.keyboard.press('Escape')
  await expect(dialog).toHaveCount(0)
  await expect(remove).toBeFocused()
  await expect(row).toHaveCount(1)

  // The Cancel button gives focus back too.
  await remove.click()
  await dialog.getByTestId('confirm-cancel').click()
  await expect(dialog).toHaveCount(0)
  await expect(remove).toBeFocused()

  await page.request.delete(`/api/v1/nodes/${node.id}`)
})

test('the node detail modal keeps Tab and Shift+Tab inside, closes on Esc and gives focus back to its card', async ({ page }) => {
  const node = await addNode(page, 'detail')
  await expect(page.getByTestId('live-indicator')).toHaveText('Dashboard stream: live')
  const card = page.locator(`[data-testid="node-card"][data-node-id="${node.id}"]`)
  await card.click()

  const dialog = page.getByTestId('node-detail')
  await expect(dialog).toBeVisible()
  await expect(dialog.getByRole('heading', { name: node.hostname })).toBeVisible()
  await expect(dialog.getByTestId('node-detail-state')).toHaveAttribute('data-connected', 'true')
  const stops = await dialogStops(dialog)
  expect(stops).toContain('node-detail-x')
  expect(stops).toContain('node-detail-close')

  // Round the stops more than once each way: every stop is reached and focus never leaves.
  // (The modal holds the history range picker too: as many presses as it takes to go round twice.)
  const presses = 2 * stops.length + 1
  const forward = await pressInside(page, 'Tab', presses)
  const backward = await pressInside(page, 'Shift+Tab', presses)
  for (const path of [forward, backward]) {
    expect(new Set(path)).toEqual(new Set(stops))
  }
  // From the last stop Tab wraps to the first, and from the first Shift+Tab wraps to the last.
  await dialog.getByTestId('node-detail-close').focus()
  await page.keyboard.press('Tab')
  expect(await focusInDialog(page)).toBe(stops[0])
  await page.keyboard.press('Shift+Tab')
  expect(await focusInDialog(page)).toBe(stops.at(-1))

  await page.keyboard.press('Escape')
  await expect(dialog).toHaveCount(0)
  await expect(page).toHaveURL(url => !url.searchParams.has('node'))
  await expect(card).toBeFocused()
  // The keyboard's focus ring is drawn inside the card: its grid slot (content-visibility) clips
  // whatever is painted outside it, which left only the ring's corners showing.
  expect(await card.evaluate(el => el.matches(':focus-visible') && getComputedStyle(el).boxShadow)).toMatch(/inset/)

  // The close button in the corner gives focus back too.
  await card.click()
  await expect(dialog).toBeVisible()
  await dialog.getByTestId('node-detail-x').click()
  await expect(dialog).toHaveCount(0)
  await expect(card).toBeFocused()

  await page.request.delete(`/api/v1/nodes/${node.id}`)
})
