import { test, expect, type APIRequestContext, type Locator, type Page } from '@playwright/test'
import type { StatsSampleInput } from '../../shared/contracts/ingest'
import type { NodeView } from '../../shared/contracts/rest'
import { E2E_STALE_AFTER_S as STALE_AFTER_S } from '../../playwright.config'
import { logIn, pickScope, secondsAgo, shoot } from './helpers'

/** The dashboard's stream interval (DASHBOARD_INTERVAL): a change shows within this many seconds. */
const INTERVAL_MS = 5000
/** One interval plus time for the snapshot to travel and render. */
const WITHIN_ONE_INTERVAL = INTERVAL_MS + 2000

interface Agent { id: number, hostname: string, token: string }

/** Adds an agent node through the API with the page's admin session. */
async function addNode(page: Page, hostname: string, labels: Record<string, string> = {}): Promise<Agent> {
  const response = await page.request.post('/api/v1/nodes', { data: { hostname, labels: { suite: 'dashboard', ...labels } } })
  expect(response.status()).toBe(201)
  const node = await response.json() as NodeView & { token: string }
  return { id: node.id, hostname: node.hostname, token: node.token }
}

/** Sends one report as the node's agent would. */
async function report(request: APIRequestContext, agent: Agent, sample: StatsSampleInput): Promise<void> {
  const response = await request.post(`/api/v1/nodes/${agent.id}/stats`, { headers: { authorization: `Bearer ${agent.token}` }, data: sample })
  expect(response.status()).toBe(200)
}

/** Reports every second until stopped, so the node stays online whatever the stale threshold. */
function keepReporting(request: APIRequestContext, agent: Agent, sample: StatsSampleInput): () => Promise<void> {
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      await report(request, agent, sample)
      await new Promise(resolve => setTimeout(resolve, 1000))
    }
  })()
  return async () => {
    stopped = true
    await loop
  }
}

async function removeNodes(page: Page, agents: Agent[]): Promise<void> {
  for (const agent of agents) await page.request.delete(`/api/v1/nodes/${agent.id}`)
}

const card = (page: Page, hostname: string): Locator => page.locator(`[data-testid="node-card"][data-hostname="${hostname}"]`)
const masterCard = (page: Page): Locator => page.getByTestId('node-card').filter({ has: page.getByTestId('master-tag') })
const unique = (name: string) => `e2e-dash-${Date.now()}-${name}`

test.beforeEach(async ({ page }) => {
  await logIn(page)
  await expect(page.getByTestId('live-indicator')).toHaveText('Dashboard stream: live')
})

test('the master card is live and its cpu value changes', async ({ page }) => {
  test.setTimeout(60_000)
  const master = masterCard(page)
  await expect(master).toHaveCount(1)
  await expect(master.getByTestId('node-status')).toHaveAttribute('data-status', 'online')
  await expect(master.getByTestId('card-last-seen')).toHaveText('live')
  await expect(master.getByTestId('card-memory')).toHaveText(/^\d+(\.\d)? %$/)
  await expect(master.getByTestId('card-disk')).toHaveText(/^\d+(\.\d)? %$/)
  await expect(master.getByTestId('card-uptime')).toHaveText(/^\d+ (second|minute|hour|day)s?(, \d+ (second|minute|hour)s?)?$/)
  await expect(master.getByTestId('card-backups')).toHaveText('0 active')
  const cpu = master.getByTestId('card-cpu')
  await expect(cpu).toHaveText(/^\d+(\.\d)? %$/)
  const first = await cpu.textContent()
  // The master samples itself every second (NODEPULSE_SAMPLE_INTERVAL=1); each snapshot carries the newest.
  await expect(cpu).not.toHaveText(first!, { timeout: 45_000 })
  await expect(cpu).toHaveText(/^\d+(\.\d)? %$/)
  // The meter says the same to assistive technology: a number in range that the card's text shows.
  const meter = master.getByRole('meter', { name: 'CPU' })
  await expect(meter).toHaveAttribute('aria-valuenow', /^\d+(\.\d+)?$/)
  await expect(async () => {
    const now = Number(await meter.getAttribute('aria-valuenow'))
    expect(now).toBeLessThanOrEqual(100)
    expect(Number.parseFloat((await cpu.textContent())!)).toBeCloseTo(now, 0)
  }).toPass({ timeout: 10_000 })
})

test('a node that never reported shows pending (within NODEPULSE_PENDING_GRACE), with dashes rather than zeros', async ({ page }) => {
  const agent = await addNode(page, unique('silent'))
  const silent = card(page, agent.hostname)
  await expect(silent).toHaveCount(1, { timeout: WITHIN_ONE_INTERVAL })
  await expect(silent.getByTestId('node-status')).toHaveText('pending')
  await expect(silent.getByTestId('node-status')).toHaveAttribute('data-status', 'pending')
  for (const id of ['card-cpu', 'card-memory', 'card-disk', 'card-uptime', 'card-backups']) {
    await expect(silent.getByTestId(id)).toHaveText('—')
  }
  await expect(silent.getByTestId('card-last-seen')).toHaveText('never')
  await expect(silent.getByTestId('master-tag')).toHaveCount(0)
  await removeNodes(page, [agent])
  await expect(silent).toHaveCount(0, { timeout: WITHIN_ONE_INTERVAL })
})

test('an agent node fed through the API appears online within one interval, with its figures', async ({ page, request }) => {
  const agent = await addNode(page, unique('fed'))
  const fed = card(page, agent.hostname)
  await expect(fed.getByTestId('node-status')).toHaveText('pending', { timeout: WITHIN_ONE_INTERVAL })

  const stop = keepReporting(request, agent, { cpu_percent: 12.5, memory_percent: 40, disk_percent: 51, uptime_seconds: 90_061, active_backups: 2 })
  try {
    await expect(fed.getByTestId('node-status')).toHaveText('online', { timeout: WITHIN_ONE_INTERVAL })
    await expect(fed.getByTestId('card-cpu')).toHaveText('12.5 %')
    await expect(fed.getByTestId('card-memory')).toHaveText('40 %')
    await expect(fed.getByTestId('card-disk')).toHaveText('51 %')
    await expect(fed.getByTestId('card-uptime')).toHaveText('1 day, 1 hour')
    await expect(fed.getByTestId('card-backups')).toHaveText('2 active')
    await expect(fed.getByRole('meter', { name: 'Disk' })).toHaveAttribute('aria-valuenow', '51')
    await expect(fed.getByTestId('card-last-seen')).toHaveText(/^(just now|\d+ s ago)$/)
  }
  finally {
    await stop()
  }
  // Between snapshots the last-seen time keeps counting on the page's own clock.
  const lastSeen = fed.getByTestId('card-last-seen')
  const age = secondsAgo(await lastSeen.textContent())
  await expect.poll(async () => secondsAgo(await lastSeen.textContent()), { timeout: 4000 }).toBeGreaterThan(age)
  await removeNodes(page, [agent])
})

test('a node that stops reporting turns stale', async ({ page, request }) => {
  test.skip(!(STALE_AFTER_S > 0 && STALE_AFTER_S <= 30), `needs E2E_STALE_AFTER ≤ 30 s for the e2e server's NODEPULSE_STALE_AFTER (it is ${STALE_AFTER_S} s)`)
  test.setTimeout(30_000 + STALE_AFTER_S * 1000 + 2 * INTERVAL_MS)
  const agent = await addNode(page, unique('quiet'))
  const quiet = card(page, agent.hostname)
  const stop = keepReporting(request, agent, { cpu_percent: 33.3, disk_percent: 20 })
  try {
    await expect(quiet.getByTestId('node-status')).toHaveText('online', { timeout: WITHIN_ONE_INTERVAL })
    // Memory and uptime were not reported: dashes, not zeros.
    await expect(quiet.getByTestId('card-memory')).toHaveText('—')
    await expect(quiet.getByTestId('card-uptime')).toHaveText('—')
  }
  finally {
    await stop()
  }
  const stoppedAt = Date.now()

  await expect(quiet.getByTestId('node-status')).toHaveText('stale', { timeout: STALE_AFTER_S * 1000 + WITHIN_ONE_INTERVAL })
  await expect(quiet.getByTestId('node-status')).toHaveAttribute('data-status', 'stale')
  expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(STALE_AFTER_S * 1000 - 1000)
  // Its last figures stay shown, and the status filter finds it.
  await expect(quiet.getByTestId('card-cpu')).toHaveText('33.3 %')
  await page.getByTestId('dash-status').selectOption('stale')
  await expect(quiet).toHaveCount(1)
  await expect(page.locator('[data-testid="node-card"]:not([data-status="stale"])')).toHaveCount(0)
  await removeNodes(page, [agent])
})

test('search and the status filter narrow the grid, live in the URL, and survive a reload', async ({ page, request }) => {
  const prefix = unique('find')
  const alpha = await addNode(page, `${prefix}-alpha`)
  const beta = await addNode(page, `${prefix}-beta`)
  const gamma = await addNode(page, `${prefix}-gamma`)
  const stopAlpha = keepReporting(request, alpha, { cpu_percent: 20, disk_percent: 10 })
  const stopGamma = keepReporting(request, gamma, { cpu_percent: 80, disk_percent: 10 })
  try {
    await expect(card(page, alpha.hostname).getByTestId('node-status')).toHaveText('online', { timeout: WITHIN_ONE_INTERVAL })
    await expect(card(page, gamma.hostname).getByTestId('node-status')).toHaveText('online', { timeout: WITHIN_ONE_INTERVAL })

    const cards = page.getByTestId('node-card')
    await page.getByTestId('dash-search').fill(prefix.toUpperCase())
    await expect(cards).toHaveCount(3)
    await expect(page).toHaveURL(url => url.searchParams.get('q') === prefix.toUpperCase())
    await expect(page.getByTestId('dash-count')).toContainText('3 of')

    await page.getByTestId('dash-status').selectOption('pending')
    await expect(cards).toHaveCount(1)
    await expect(card(page, beta.hostname)).toHaveCount(1)
    await expect(page).toHaveURL(url => url.searchParams.get('status') === 'pending')

    await page.getByTestId('dash-status').selectOption('online')
    await expect(cards).toHaveCount(2)
    // Sorted by cpu, the busier node comes first.
    await page.getByTestId('dash-sort').selectOption('cpu')
    await expect(cards.getByTestId('card-hostname')).toHaveText([gamma.hostname, alpha.hostname])
    // Cards are keyed by node: a re-sort moves alpha's card instead of painting gamma into it (a card
    // is its node's element, so focus and a screen reader's place stay with the node).
    const alphaCard = await card(page, alpha.hostname).elementHandle()
    await page.getByTestId('dash-sort').selectOption('name')
    await expect(cards.getByTestId('card-hostname')).toHaveText([alpha.hostname, gamma.hostname])
    expect(await alphaCard!.getAttribute('data-hostname')).toBe(alpha.hostname)

    // The view is in the URL: a reload (or a shared link) shows the same.
    await page.getByTestId('dash-sort').selectOption('cpu')
    await expect(page).toHaveURL(url => url.searchParams.get('sort') === 'cpu')
    await page.reload()
    await expect(page.getByTestId('dash-search')).toHaveValue(prefix.toUpperCase())
    await expect(page.getByTestId('dash-status')).toHaveValue('online')
    await expect(page.getByTestId('dash-sort')).toHaveValue('cpu')
    await expect(cards.getByTestId('card-hostname')).toHaveText([gamma.hostname, alpha.hostname])

    await page.getByTestId('dash-search').fill(`${prefix}-nothing`)
    await expect(cards).toHaveCount(0)
    await page.getByTestId('dash-no-match').getByRole('button', { name: 'Show all nodes' }).click()
    await expect(page.getByTestId('dash-search')).toHaveValue('')
    await expect(page).toHaveURL(url => !url.searchParams.has('q') && !url.searchParams.has('status'))
    await expect(card(page, beta.hostname)).toHaveCount(1)
  }
  finally {
    await stopAlpha()
    await stopGamma()
  }
  await removeNodes(page, [alpha, beta, gamma])
})

test('the node picker lists nothing until opened, filters as one types, picks from the keyboard, and keeps its choice in the URL', async ({ page }) => {
  const prefix = unique('pick')
  const agents = [await addNode(page, `${prefix}-alpha`), await addNode(page, `${prefix}-beta`), await addNode(page, `${prefix}-gamma`)]
  try {
    const picker = page.getByTestId('dash-scope')
    const options = page.getByRole('listbox', { name: 'Nodes' }).getByRole('option')
    await expect(picker).toHaveAttribute('role', 'combobox')
    await expect(picker).toHaveValue('All nodes')
    await expect(options).toHaveCount(0)

    // Opened, it lists every node under "This server", the current choice marked.
    await picker.click()
    await expect(picker).toHaveAttribute('aria-expanded', 'true')
    await expect(page.getByRole('listbox', { name: 'Nodes' })).toBeVisible()
    await expect(options.filter({ hasText: /^All nodes/ })).toHaveAttribute('aria-selected', 'true')
    await expect(page.getByRole('group', { name: 'This server' }).getByRole('option', { name: `${prefix}-beta` })).toHaveCount(1)

    // Typing narrows the list; Down and Enter choose; the grid, summary and URL follow.
    await picker.fill(prefix.toUpperCase())
    await expect(options).toHaveText([`${prefix}-alpha`, `${prefix}-beta`, `${prefix}-gamma`])
    await expect(page.getByTestId('dash-scope-note')).toHaveText('3 choices.')
    await expect(picker).toHaveAttribute('aria-activedescendant', await options.first().getAttribute('id') ?? '')
    await page.keyboard.press('ArrowDown')
    await expect(options.nth(1)).toHaveAttribute('data-active', 'true')
    await page.keyboard.press('Enter')
    await expect(options).toHaveCount(0)
    await expect(page).toHaveURL(url => url.searchParams.get('scope') === `node:${agents[1]!.id}`)
    await expect(picker).toHaveValue(`${prefix}-beta`)
    await expect(page.getByTestId('node-card')).toHaveCount(1)
    await expect(card(page, `${prefix}-beta`)).toHaveCount(1)
    await expect(page.getByTestId('summary-total')).toHaveText('1')

    // Escape leaves the picker as it was; so does a click elsewhere.
    await picker.click()
    await picker.fill('gamma')
    await page.keyboard.press('Escape')
    await expect(options).toHaveCount(0)
    await expect(picker).toHaveValue(`${prefix}-beta`)
    await picker.click()
    await page.getByRole('heading', { name: 'Dashboard', exact: true }).click()
    await expect(options).toHaveCount(0)

    // A reload keeps the choice; a text nothing matches says so.
    await page.reload()
    await expect(picker).toHaveValue(`${prefix}-beta`)
    await picker.click()
    await picker.fill(`${prefix}-nothing`)
    await expect(options).toHaveCount(0)
    await expect(page.getByTestId('dash-scope-note')).toHaveText('No node matches.')
    await page.keyboard.press('Escape')
    await pickScope(page, 'All nodes')
    await expect(page).toHaveURL(url => !url.searchParams.has('scope'))

    // A link to a node this server does not have shows what it asks for.
    await page.goto('/?scope=node:987654321')
    await expect(picker).toHaveValue('node:987654321 (not found)')
    await expect(page.getByTestId('dash-no-match')).toBeVisible()
  }
  finally {
    await removeNodes(page, agents)
  }
})

test('labels show on cards, the search takes key=value and label values, and cards group by a label key kept in the URL', async ({ page, request }) => {
  test.setTimeout(60_000)
  const prefix = unique('grp')
  // A key no other spec uses: every other node falls in the "no label" group.
  const key = `zone${Date.now()}`
  const east1 = await addNode(page, `${prefix}-east-1`, { [key]: 'east' })
  const east2 = await addNode(page, `${prefix}-east-2`, { [key]: 'east' })
  const west = await addNode(page, `${prefix}-west`, { [key]: 'west' })
  const stop = keepReporting(request, east1, { cpu_percent: 20, disk_percent: 10 })
  try {
    await expect(card(page, east1.hostname).getByTestId('node-status')).toHaveText('online', { timeout: WITHIN_ONE_INTERVAL })
    await expect(card(page, west.hostname).getByTestId('node-label')).toHaveText(['suite=dashboard', `${key}=west`])

    const cards = page.getByTestId('node-card')
    const search = page.getByTestId('dash-search')
    await search.fill(`${key}=east`)
    await expect(cards).toHaveCount(2)
    await expect(page.getByTestId('dash-count')).toHaveText(/^2 of [\d,]+ nodes$/)
    // A plain word finds label values too (and hostnames); words narrow together.
    await search.fill(`west ${prefix}`)
    await expect(cards).toHaveCount(1)
    await expect(card(page, west.hostname)).toHaveCount(1)
    await search.fill(`${key.toUpperCase()}=WEST`)
    await expect(cards).toHaveCount(1)

    // Group by the key: one heading per value with its counts by state, nodes without the key last.
    await search.fill(prefix)
    await expect(cards).toHaveCount(3)
    await page.getByTestId('dash-group').selectOption(key)
    await expect(page).toHaveURL(url => url.searchParams.get('group') === key && url.searchParams.get('q') === prefix)
    const sections = page.getByTestId('group-section')
    await expect(sections).toHaveCount(2)
    await expect(sections.getByTestId('group-title')).toHaveText([`${key}=east`, `${key}=west`])
    const eastSection = page.locator(`[data-testid="group-section"][data-group="east"]`)
    await expect(eastSection.getByTestId('group-total')).toHaveText('2 nodes')
    await expect(eastSection.getByTestId('group-online')).toHaveText('1 online')
    // The one that never reported is pending (within NODEPULSE_PENDING_GRACE), not offline.
    await expect(eastSection.getByTestId('group-pending')).toHaveText('1 pending')
    await expect(eastSection.getByTestId('node-card')).toHaveCount(2)
    const westSection = page.locator(`[data-testid="group-section"][data-group="west"]`)
    await expect(westSection.getByTestId('group-total')).toHaveText('1 node')
    await expect(westSection.getByTestId('group-online')).toHaveCount(0)

    // Without the search, every other node sits in the last group, "No <key> label".
    await search.fill('')
    await expect(sections.last()).toHaveAttribute('data-group', '')
    await expect(sections.last().getByTestId('group-title')).toHaveText(`No ${key} label`)
    await expect(sections.first()).toHaveAttribute('data-group', 'east')

    // The grouping survives a reload; a card opened from it keeps the URL's other keys (the modal's range=).
    await page.goto(`/?group=${key}&q=${prefix}&range=7d`)
    await expect(page.getByTestId('dash-group')).toHaveValue(key)
    await expect(sections).toHaveCount(2)
    await card(page, west.hostname).click()
    await expect(page.getByTestId('node-detail')).toBeVisible()
    await expect(page).toHaveURL(url => url.searchParams.get('node') === String(west.id) && url.searchParams.get('range') === '7d' && url.searchParams.get('group') === key)
    await page.keyboard.press('Escape')
    await expect(page).toHaveURL(url => !url.searchParams.has('node') && url.searchParams.get('range') === '7d')
    await expect(card(page, east2.hostname)).toHaveAttribute('href', new RegExp(`range=7d.*node=${east2.id}$`))

    await page.getByTestId('dash-group').selectOption('')
    await expect(sections).toHaveCount(1)
    await expect(sections.getByTestId('group-header')).toHaveCount(0)
    await expect(page).toHaveURL(url => !url.searchParams.has('group'))
  }
  finally {
    await stop()
  }
  await removeNodes(page, [east1, east2, west])
})

test('the detail modal opens from a card, streams, closes, and opens from a pasted ?node= URL', async ({ page, request, context }) => {
  test.setTimeout(60_000)
  const streams: string[] = []
  page.on('request', (r) => {
    const path = new URL(r.url()).pathname
    if (/^\/api\/v1\/metrics\/nodes\/\d+\/stats\/stream$/.test(path)) streams.push(path)
  })
  const nodes = await (await page.request.get('/api/v1/nodes')).json() as NodeView[]
  const master = nodes.find(n => n.kind === 'master')!

  // Keyboard: focus the master card and press Enter.
  await masterCard(page).focus()
  await page.keyboard.press('Enter')
  const dialog = page.getByTestId('node-detail')
  await expect(dialog).toBeVisible()
  await expect(page).toHaveURL(url => url.searchParams.get('node') === String(master.id))
  await expect(dialog.getByRole('heading', { name: master.hostname })).toBeVisible()
  await expect(dialog.getByTestId('node-detail-state')).toHaveAttribute('data-connected', 'true')
  await expect(dialog.getByTestId('detail-id')).toHaveText(String(master.id))
  await expect(dialog.getByTestId('detail-kind')).toHaveText('master')
  await expect(dialog.getByTestId('detail-last-seen')).toHaveText('live')
  await expect(dialog.getByTestId('detail-load')).toHaveText(/\d+(\.\d+)? \(1 min\)/)
  await expect(dialog.getByTestId('detail-cores').getByRole('meter').first()).toBeVisible()
  await expect(dialog.getByTestId('detail-disks')).toContainText('/')
  // Streaming: the master samples every second, so its newest sample stays a second or two old.
  await page.waitForTimeout(5000)
  expect(secondsAgo(await dialog.getByTestId('detail-last-sample').textContent())).toBeLessThanOrEqual(3)
  // Only the open node has a per-node stream.
  expect(new Set(streams)).toEqual(new Set([`/api/v1/metrics/nodes/${master.id}/stats/stream`]))

  // Focus stays inside while it is open.
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press('Tab')
    expect(await dialog.evaluate(d => d.contains(document.activeElement))).toBe(true)
  }
  // Esc closes it and takes ?node= out of the URL; focus goes back to the card.
  await page.keyboard.press('Escape')
  await expect(dialog).toHaveCount(0)
  await expect(page).toHaveURL(url => !url.searchParams.has('node'))
  await expect(masterCard(page)).toBeFocused()

  // A click opens it too, and the Close button closes it.
  await masterCard(page).click()
  await expect(dialog).toBeVisible()
  await dialog.getByTestId('node-detail-close').click()
  await expect(dialog).toHaveCount(0)
  await expect(page).toHaveURL(url => !url.searchParams.has('node'))

  // A pasted link to an agent opens its detail in a fresh tab, live.
  const agent = await addNode(page, unique('detail'))
  const stop = keepReporting(request, agent, { cpu_percent: 61.5, memory_percent: 22, disk_percent: 47, uptime_seconds: 3600, active_backups: 1 })
  const tab = await context.newPage()
  try {
    await tab.goto(`/?node=${agent.id}`)
    const shared = tab.getByTestId('node-detail')
    await expect(shared.getByRole('heading', { name: agent.hostname })).toBeVisible()
    await expect(shared.getByTestId('detail-kind')).toHaveText('agent')
    await expect(shared.getByTestId('detail-labels')).toHaveText('suite=dashboard')
    await expect(shared.getByTestId('detail-cpu')).toHaveText('61.5 %', { timeout: WITHIN_ONE_INTERVAL })
    await expect(shared.getByTestId('detail-uptime')).toHaveText('1 hour')
    await expect(shared.getByTestId('detail-backups')).toHaveText('1')
    await expect(shared.getByTestId('detail-reported')).toContainText('61.5 %')
    await shared.getByTestId('node-detail-x').click()
    await expect(shared).toHaveCount(0)
    await expect(tab).toHaveURL(url => url.pathname === '/' && !url.searchParams.has('node'))

    // Deleting the node while its detail is open says so.
    await tab.goto(`/?node=${agent.id}`)
    await expect(shared.getByTestId('node-detail-state')).toHaveAttribute('data-connected', 'true')
    await stop()
    await removeNodes(page, [agent])
    await expect(shared).toContainText(`${agent.hostname} was deleted.`)
  }
  finally {
    await stop()
  }

  // An id that does not exist says so instead of spinning.
  await tab.goto('/?node=987654')
  await expect(tab.getByTestId('node-detail')).toContainText('No node has the id 987654')
  await tab.close()
})

test('the summary counts every node over one shared stream, and the hint to add nodes shows only while the master is alone', async ({ page }) => {
  const listed = async () => await (await page.request.get('/api/v1/nodes')).json() as NodeView[]
  // The REST list and the last snapshot can be a few seconds apart: compare until they agree.
  for (const state of ['online', 'unreachable', 'stale', 'offline', 'pending'] as const) {
    await expect.poll(async () => {
      // The Pending tile shows only while some node is pending: no tile counts as 0.
      const tile = page.getByTestId(`summary-${state}`)
      const shown = (await tile.count()) ? Number(await tile.textContent()) : 0
      return shown - (await listed()).filter(n => n.state === state).length
    }, { timeout: WITHIN_ONE_INTERVAL }).toBe(0)
  }
  const nodes = await listed()
  await expect(page.getByTestId('summary-total')).toHaveText(String(nodes.length))
  const hint = page.getByTestId('add-node-hint')
  if (nodes.length === 1) {
    await expect(hint).toBeVisible()
    await expect(masterCard(page)).toHaveCount(1)
    await hint.getByRole('link', { name: 'Nodes' }).click()
    await expect(page).toHaveURL(/\/nodes$/)
    await page.goBack()
  }
  else {
    await expect(hint).toHaveCount(0)
  }

  // The page and the header's live indicator share one EventSource. Requests are counted from the
  // reloaded document on: the old one's stream (just reopened if we came back from Nodes) is not its.
  const opened: string[] = []
  await page.reload({ waitUntil: 'commit' })
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/api/v1/metrics/nodes/stats/delta') opened.push(r.url())
  })
  await expect(page.getByTestId('live-indicator')).toHaveText('Dashboard stream: live')
  await expect(page.getByTestId('summary-total')).toHaveText(String(nodes.length))
  await page.waitForTimeout(1000)
  expect(opened).toHaveLength(1)

  const agent = await addNode(page, unique('count'))
  await expect(page.getByTestId('summary-total')).toHaveText(String(nodes.length + 1), { timeout: WITHIN_ONE_INTERVAL })
  await expect(page.getByTestId('summary-pending')).not.toHaveText('0')
  await expect(hint).toHaveCount(0)
  await removeNodes(page, [agent])
  await expect(page.getByTestId('summary-total')).toHaveText(String(nodes.length), { timeout: WITHIN_ONE_INTERVAL })
})

test('1,000 nodes: 60 cards a page, the pager moves through them, and search still finds one', async ({ page }) => {
  test.setTimeout(240_000)
  const COUNT = 1000
  const BATCH = 50
  const prefix = unique('scale')
  const name = (i: number) => `${prefix}-${String(i).padStart(4, '0')}`
  const agents: Agent[] = []
  try {
    for (let i = 0; i < COUNT; i += BATCH) {
      agents.push(...await Promise.all(Array.from({ length: Math.min(BATCH, COUNT - i) }, (_, j) => addNode(page, name(i + j)))))
    }
    const total = (await (await page.request.get('/api/v1/nodes')).json() as NodeView[]).length
    expect(total).toBeGreaterThan(COUNT)
    const cards = page.getByTestId('node-card')
    const hostnames = cards.getByTestId('card-hostname')
    const pageOf = (n: number, of: number) => page.getByText(`Page ${n} of ${of}`, { exact: true })

    // Every node is counted; the grid shows one page of 60.
    await expect(page.getByTestId('summary-total')).toHaveText(String(total), { timeout: WITHIN_ONE_INTERVAL })
    await expect(page.getByTestId('dash-count')).toHaveText(`${total.toLocaleString('en')} nodes`)
    await expect(cards).toHaveCount(60)
    await expect(page.getByTestId('pager-range')).toHaveText(`1–60 of ${total}`)
    await expect(pageOf(1, Math.ceil(total / 60))).toBeVisible()
    await shoot(page, 'dashboard', 'grid-1000')

    // This test's nodes, in name order: 17 pages, the last one partly full.
    await page.getByTestId('dash-search').fill(prefix)
    await expect(page.getByTestId('dash-count')).toHaveText(`${COUNT.toLocaleString('en')} of ${total.toLocaleString('en')} nodes`)
    await expect(pageOf(1, 17)).toBeVisible()
    await expect(hostnames.first()).toHaveText(name(0))
    await expect(hostnames.last()).toHaveText(name(59))
    await expect(page.getByTestId('pager-prev')).toBeDisabled()
    await page.getByTestId('pager-next').click()
    await expect(page.getByTestId('pager-range')).toHaveText(`61–120 of ${COUNT}`)
    await expect(pageOf(2, 17)).toBeVisible()
    await expect(page).toHaveURL(url => url.searchParams.get('page') === '2')
    await expect(cards).toHaveCount(60)
    await expect(hostnames.first()).toHaveText(name(60))

    // The page is in the URL: a shared link opens the last page.
    await page.goto(`/?q=${prefix}&page=17`)
    await expect(page.getByTestId('pager-range')).toHaveText(`961–1000 of ${COUNT}`)
    await expect(cards).toHaveCount(40)
    await expect(hostnames.last()).toHaveText(name(999))
    await expect(page.getByTestId('pager-next')).toBeDisabled()
    await page.getByTestId('pager-prev').click()
    await expect(pageOf(16, 17)).toBeVisible()
    await expect(hostnames.first()).toHaveText(name(900))

    // The node picker lists 50 of the 1,000 and says how many more; typing finds the one.
    const picker = page.getByTestId('dash-scope')
    await picker.click()
    await picker.fill(prefix)
    const choices = page.getByRole('listbox', { name: 'Nodes' }).getByRole('option')
    await expect(choices).toHaveCount(50)
    await expect(page.getByTestId('dash-scope-note')).toHaveText('950 more: type to narrow.')
    await shoot(page, 'dashboard', 'picker-open')
    await picker.fill(name(777))
    await expect(choices).toHaveText([name(777)])
    await choices.click()
    await expect(hostnames).toHaveText([name(777)])
    await pickScope(page, 'All nodes')

    // Search narrows 1,000 to the one, back on page 1 with no pager.
    await page.getByTestId('dash-search').fill(name(777))
    await expect(cards).toHaveCount(1)
    await expect(hostnames).toHaveText([name(777)])
    await expect(page.getByTestId('dash-count')).toHaveText(`1 of ${total.toLocaleString('en')} nodes`)
    await expect(page.getByTestId('pager-range')).toHaveCount(0)
  }
  finally {
    // A keep-alive socket the server closed while idle can reset one request: deleting is safe to repeat.
    const remove = async (agent: Agent, attempts = 3): Promise<void> => {
      try {
        await page.request.delete(`/api/v1/nodes/${agent.id}`)
      }
      catch (error) {
        if (attempts <= 1) throw error
        await remove(agent, attempts - 1)
      }
    }
    for (let i = 0; i < agents.length; i += BATCH) await Promise.all(agents.slice(i, i + BATCH).map(a => remove(a)))
  }
})
