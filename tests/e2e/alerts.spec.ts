import { test, expect, type APIRequestContext, type Browser, type Locator, type Page } from '@playwright/test'
import type { AlertRuleView } from '../../shared/contracts/alerts'
import type { StatsSampleInput } from '../../shared/contracts/ingest'
import type { NodeView, UserView } from '../../shared/contracts/rest'
import { logIn, shoot } from './helpers'

const unique = (name: string) => `e2e-alert-${Date.now()}-${name}`
const MINUTE = 60_000

const ruleItem = (page: Page, name: string): Locator => page.locator(`[data-testid="alert-rule"][data-name="${name}"]`)

async function createRule(api: APIRequestContext, body: Record<string, unknown>): Promise<AlertRuleView> {
  const response = await api.post('/api/v1/alerts/rules', { data: body })
  expect(response.status(), await response.text()).toBe(201)
  return await response.json() as AlertRuleView
}

/** Runs `use` with a page logged in as a new viewer, who is deleted after. */
async function asViewer(browser: Browser, baseURL: string, admin: APIRequestContext, use: (page: Page) => Promise<void>): Promise<void> {
  const viewer = { username: unique('viewer'), password: 'viewer-password-1' }
  const created = await admin.post('/api/v1/users', { data: { ...viewer, role: 'viewer' } })
  expect(created.status(), await created.text()).toBe(201)
  const { id } = await created.json() as UserView
  const context = await browser.newContext({ baseURL })
  try {
    const page = await context.newPage()
    await logIn(page, viewer)
    await use(page)
  }
  finally {
    await context.close()
    await admin.delete(`/api/v1/users/${id}`)
  }
}

test.beforeEach(async ({ page }) => {
  await logIn(page)
})

test('an admin adds a rule through the form, reads it as a sentence, edits, disables and deletes it', async ({ page }) => {
  const name = unique('cpu')
  const cluster = unique('prod')
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alerts' }).click()
  await expect(page).toHaveURL(url => url.pathname === '/alerts')
  await page.getByTestId('add-alert').click()

  // The CPU preset fills the condition and a name; the unit follows the metric and the per-core box.
  await page.getByTestId('alert-preset-load').click()
  await expect(page.getByTestId('alert-metric')).toHaveValue('load1')
  await expect(page.getByTestId('alert-per-core')).toBeChecked()
  await expect(page.getByTestId('alert-unit')).toHaveText('× CPU cores')
  await expect(page.getByTestId('alert-preview')).toContainText('load1 > 1 × cores for 10 min on all nodes')
  await page.getByTestId('alert-preset-cpu').click()
  await expect(page.getByTestId('alert-name')).toHaveValue('High CPU')
  await expect(page.getByTestId('alert-per-core')).not.toBeChecked()
  await expect(page.getByTestId('alert-unit')).toHaveText('%')
  await expect(page.getByTestId('alert-minutes')).toHaveValue('5')
  await page.getByTestId('alert-name').fill(name)
  await page.getByTestId('alert-nodes-labels').check()
  await page.getByTestId('alert-labels').fill(`cluster=${cluster}`)
  const sentence = `cpu_percent > 90 for 5 min on nodes labelled cluster=${cluster}`
  await expect(page.getByTestId('alert-preview')).toContainText(sentence)
  await page.getByTestId('alert-submit').click()

  const item = ruleItem(page, name)
  await expect(item.getByTestId('alert-sentence')).toHaveText(sentence)
  await expect(page.getByTestId('alert-form')).toHaveCount(0)
  await expect(item.getByTestId('event-severity')).toHaveText('warning')
  await expect(item.getByTestId('alert-enabled-state')).toHaveText('enabled')
  await expect(item.getByTestId('alert-state')).toHaveText('Not firing.')
  const id = Number(await item.getAttribute('data-rule-id'))
  const stored = await (await page.request.get(`/api/v1/alerts/rules/${id}`)).json() as AlertRuleView
  expect(stored).toMatchObject({ name, metric: 'cpu_percent', comparison: '>', value: 90, per_core: false, duration_seconds: 300, nodes: { labels: { cluster } }, severity: 'warning', enabled: true })

  // Edit: the form opens with the rule's fields; a new threshold, duration and severity.
  await item.getByTestId('alert-edit').click()
  await expect(page.getByTestId('alert-form')).toContainText(`Edit “${name}”`)
  await expect(page.getByTestId('alert-labels')).toHaveValue(`cluster=${cluster}`)
  await expect(page.getByTestId('alert-value')).toHaveValue('90')
  await page.getByTestId('alert-value').fill('95.5')
  await page.getByTestId('alert-comparison').selectOption('>=')
  await page.getByTestId('alert-minutes').fill('90')
  await page.getByTestId('alert-severity').selectOption('error')
  await page.getByTestId('alert-submit').click()
  await expect(item.getByTestId('alert-sentence')).toHaveText(`cpu_percent >= 95.5 for 90 min on nodes labelled cluster=${cluster}`)
  await expect(item.getByTestId('event-severity')).toHaveText('error')
  await expect(page.getByTestId('alert-form')).toHaveCount(0)

  // Disable, and enable again.
  await item.getByTestId('alert-toggle').click()
  await expect(item.getByTestId('alert-enabled-state')).toHaveText('disabled')
  await expect(item.getByTestId('alert-state')).toHaveText('Disabled: not evaluated.')
  await expect(item.getByTestId('alert-toggle')).toHaveText('Enable')
  expect((await (await page.request.get(`/api/v1/alerts/rules/${id}`)).json() as AlertRuleView).enabled).toBe(false)

  // Delete asks first: Cancel keeps the rule, the confirm deletes it.
  await item.getByTestId('alert-delete').click()
  const dialog = page.getByRole('dialog')
  await expect(dialog).toContainText(`Delete the alert rule “${name}”?`)
  await dialog.getByTestId('confirm-cancel').click()
  await expect(item).toBeVisible()
  await item.getByTestId('alert-delete').click()
  await page.getByRole('dialog').getByTestId('confirm-ok').click()
  await expect(item).toHaveCount(0)
  expect((await page.request.get(`/api/v1/alerts/rules/${id}`)).status()).toBe(404)
})

test('the server\'s refusals show at their fields: a taken name, a bad label name, no node chosen', async ({ page }) => {
  const taken = await createRule(page.request, { name: unique('taken'), metric: 'disk_percent', comparison: '>', value: 85, duration_seconds: 60 })
  try {
    await page.goto('/alerts')
    await page.getByTestId('add-alert').click()
    await page.getByTestId('alert-name').fill(taken.name)
    await page.getByTestId('alert-submit').click()
    await expect(page.getByTestId('alert-name-error')).toHaveText(`An alert rule named "${taken.name}" already exists`)
    await expect(page.getByTestId('alert-name')).toHaveAttribute('aria-invalid', 'true')

    const name = unique('fields')
    await page.getByTestId('alert-name').fill(name)
    await page.getByTestId('alert-nodes-labels').check()
    // Not name=value: the form says so before asking the server.
    await page.getByTestId('alert-labels').fill('cluster')
    await page.getByTestId('alert-submit').click()
    await expect(page.getByTestId('alert-nodes-error')).toHaveText('Label "cluster" must be written as key=value')
    // A label name the server refuses: its 422 names the field, shown under the node selector.
    await page.getByTestId('alert-labels').fill('bad key=x')
    await page.getByTestId('alert-submit').click()
    await expect(page.getByTestId('alert-nodes-error')).toContainText('label name "bad key" must be 1–63 characters')
    await expect(page.getByTestId('alert-name-error')).toHaveCount(0)
    await expect(page.getByTestId('alert-labels')).toHaveAttribute('aria-invalid', 'true')
    // Chosen nodes, but none ticked.
    await page.getByTestId('alert-nodes-ids').check()
    await page.getByTestId('alert-submit').click()
    await expect(page.getByTestId('alert-nodes-error')).toHaveText('must name at least one node')
    await expect(page.getByTestId('alert-form').getByRole('alert')).toHaveCount(0)
    expect((await (await page.request.get('/api/v1/alerts/rules')).json() as AlertRuleView[]).map(r => r.name)).not.toContain(name)

    await page.getByTestId('alert-nodes-all').check()
    await page.getByTestId('alert-submit').click()
    await expect(ruleItem(page, name).getByTestId('alert-sentence')).toHaveText('cpu_percent > 90 for 5 min on all nodes')
    await page.request.delete(`/api/v1/alerts/rules/${Number(await ruleItem(page, name).getAttribute('data-rule-id'))}`)
  }
  finally {
    await page.request.delete(`/api/v1/alerts/rules/${taken.id}`)
  }
})

test('a viewer reads the rules without add, edit, enable or delete controls', async ({ page, browser, baseURL }) => {
  const rule = await createRule(page.request, { name: unique('read'), metric: 'load1', comparison: '>', value: 1, per_core: true, duration_seconds: 600, severity: 'error' })
  try {
    await asViewer(browser, baseURL!, page.request, async (viewer) => {
      await viewer.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alerts' }).click()
      const item = ruleItem(viewer, rule.name)
      await expect(item.getByTestId('alert-sentence')).toHaveText('load1 > 1 × cores for 10 min on all nodes')
      await expect(item.getByTestId('event-severity')).toHaveText('error')
      await expect(viewer.getByText('Only admins can add, change or delete alert rules.')).toBeVisible()
      await expect(viewer.getByTestId('add-alert')).toHaveCount(0)
      await expect(viewer.getByTestId('alert-edit')).toHaveCount(0)
      await expect(viewer.getByTestId('alert-toggle')).toHaveCount(0)
      await expect(viewer.getByTestId('alert-delete')).toHaveCount(0)
    })
  }
  finally {
    await page.request.delete(`/api/v1/alerts/rules/${rule.id}`)
  }
})

/** A node whose last three minutes (through the current one) ran hot: CPU at 97 %, load 6 on 4 cores. */
async function hotNode(api: APIRequestContext, hostname: string): Promise<NodeView> {
  const created = await api.post('/api/v1/nodes', { data: { hostname, labels: { suite: 'alerts' } } })
  expect(created.status()).toBe(201)
  const node = await created.json() as NodeView & { token: string }
  const minute = Math.floor(Date.now() / MINUTE) * MINUTE
  // Through the current minute (never in the future), so the newest whole minute is hot whenever
  // the leader evaluates, before or after the next minute begins.
  const samples: StatsSampleInput[] = [2, 1, 0].flatMap(m => [0, 20, 40].map(s => minute - m * MINUTE + s * 1000)).filter(t => t <= Date.now())
    .map(t => ({
      timestamp: new Date(t).toISOString(), cpu_percent: 97, memory_percent: 40, disk_percent: 50, uptime_seconds: 3600,
      detail: { load: { '1m': 6, '5m': 5, '15m': 4 }, cpu_cores: [97, 97, 97, 97] },
    }))
  const sent = await api.post(`/api/v1/nodes/${node.id}/stats`, { headers: { authorization: `Bearer ${node.token}` }, data: { samples } })
  expect(sent.status(), await sent.text()).toBe(200)
  return node
}

test('a rule the leader finds broken shows the node it fires for, with since and value against threshold', async ({ page, browser, baseURL }) => {
  test.setTimeout(180_000)
  const node = await hotNode(page.request, unique('hot'))
  const rules: AlertRuleView[] = []
  try {
    rules.push(await createRule(page.request, { name: unique('cpu'), metric: 'cpu_percent', comparison: '>', value: 90, duration_seconds: 60, nodes: { ids: [node.id] }, severity: 'error' }))
    rules.push(await createRule(page.request, { name: unique('load'), metric: 'load1', comparison: '>', value: 1, per_core: true, duration_seconds: 60, nodes: { ids: [node.id] } }))
    // Two that stay quiet: a disabled one, and one on a label no node carries.
    rules.push(await createRule(page.request, { name: unique('off'), metric: 'memory_percent', comparison: '>', value: 10, duration_seconds: 60, nodes: { ids: [node.id] }, enabled: false }))
    rules.push(await createRule(page.request, { name: unique('quiet'), metric: 'disk_percent', comparison: '>', value: 85, duration_seconds: 300, nodes: { labels: { cluster: 'nowhere' } }, severity: 'info' }))
    const [cpu, load, off, quiet] = rules as [AlertRuleView, AlertRuleView, AlertRuleView, AlertRuleView]

    await page.goto('/alerts')
    await expect(ruleItem(page, cpu.name).getByTestId('alert-sentence')).toHaveText(`cpu_percent > 90 for 1 min on ${node.hostname}`)
    // The leader rolls up after each minute closes and evaluates every 15 s; the page follows without a reload.
    const cpuFiring = ruleItem(page, cpu.name).getByTestId('alert-firing')
    await expect(cpuFiring).toHaveAttribute('data-node-id', String(node.id), { timeout: 120_000 })
    await expect(cpuFiring.getByRole('link', { name: node.hostname })).toHaveAttribute('href', `/?node=${node.id}`)
    await expect(cpuFiring.getByTestId('alert-firing-value')).toHaveText('97 % > 90 %')
    await expect(cpuFiring).toContainText(/since (just now|\d+ s ago|\d+ min ago)/)
    await expect(ruleItem(page, cpu.name).getByTestId('alert-state')).toContainText('Firing for 1 node')
    // Per core: load 6 against 1 × 4 cores.
    const loadFiring = ruleItem(page, load.name).getByTestId('alert-firing')
    await expect(loadFiring.getByTestId('alert-firing-value')).toHaveText('6 > 4', { timeout: 60_000 })
    await expect(ruleItem(page, off.name).getByTestId('alert-state')).toHaveText('Disabled: not evaluated.')
    await expect(ruleItem(page, quiet.name).getByTestId('alert-state')).toHaveText('Not firing.')

    // The threshold toasts would cover the rules in the screenshots.
    const hideToasts = (p: Page) => process.env.SHOTS_DIR ? p.addStyleTag({ content: '[data-sonner-toaster] { display: none !important }' }) : null
    await hideToasts(page)
    await shoot(page, 'alerts', 'admin')
    await page.getByTestId('add-alert').click()
    await page.getByTestId('alert-nodes-ids').check()
    await page.getByTestId('alert-nodes-filter').fill('alert')
    await page.locator(`[data-testid="alert-node-option"][data-node-id="${node.id}"]`).check()
    await expect(page.getByTestId('alert-preview')).toContainText(`cpu_percent > 90 for 5 min on ${node.hostname}`)
    await shoot(page, 'alerts', 'form')
    await page.getByTestId('alert-form').getByRole('button', { name: 'Cancel' }).click()
    await asViewer(browser, baseURL!, page.request, async (viewer) => {
      await viewer.goto('/alerts')
      await expect(ruleItem(viewer, cpu.name).getByTestId('alert-firing')).toHaveAttribute('data-node-id', String(node.id))
      await hideToasts(viewer)
      await shoot(viewer, 'alerts', 'viewer')
    })

    // The hostname leads to the node's detail on the dashboard.
    await cpuFiring.getByRole('link', { name: node.hostname }).click()
    await expect(page).toHaveURL(url => url.pathname === '/' && url.searchParams.get('node') === String(node.id))
    await expect(page.getByTestId('node-detail').getByRole('heading', { name: node.hostname })).toBeVisible()
  }
  finally {
    for (const rule of rules) await page.request.delete(`/api/v1/alerts/rules/${rule.id}`)
    await page.request.delete(`/api/v1/nodes/${node.id}`)
  }
})
