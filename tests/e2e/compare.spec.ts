import { mkdirSync } from 'node:fs'
import { test, expect, type Locator, type Page } from '@playwright/test'
import type { StatsSampleInput } from '../../shared/contracts/ingest'
import type { NodeView } from '../../shared/contracts/rest'
import { logIn } from './helpers'

interface Agent { id: number, hostname: string, token: string }

const MINUTE = 60_000

async function addNode(page: Page, hostname: string, labels: Record<string, string>): Promise<Agent> {
  const response = await page.request.post('/api/v1/nodes', { data: { hostname, labels } })
  expect(response.status()).toBe(201)
  const node = await response.json() as NodeView & { token: string }
  return { id: node.id, hostname: node.hostname, token: node.token }
}

/**
 * Three hours of one sample a minute, ending five minutes ago: CPU around `cpu` (±5) and memory
 * around 100 − `cpu`, so the two metrics rank the nodes in opposite orders.
 */
async function writeHistory(page: Page, agent: Agent, cpu: number): Promise<void> {
  const now = Date.now()
  const samples: StatsSampleInput[] = []
  for (let ago = 180; ago >= 5; ago--) {
    const wobble = 5 * Math.sin(ago / 7)
    samples.push({
      timestamp: new Date(now - ago * MINUTE).toISOString(),
      cpu_percent: cpu + wobble,
      memory_percent: 100 - cpu + wobble,
      disk_percent: 50,
      uptime_seconds: 3600,
    })
  }
  const response = await page.request.post(`/api/v1/nodes/${agent.id}/stats`, { headers: { authorization: `Bearer ${agent.token}` }, data: { samples } })
  expect(response.status(), await response.text()).toBe(200)
}

/** Nodes `${prefix}-a`, `-b`, `-c` with CPU around 80, 50 and 20, labelled `run:${prefix}`. */
async function addFleet(page: Page, prefix: string, extra: { count: number } = { count: 0 }): Promise<Agent[]> {
  const levels = [80, 50, 20, ...Array.from({ length: extra.count }, (_, i) => 10 + ((i * 37) % 85))]
  const agents: Agent[] = []
  for (const [i, cpu] of levels.entries()) {
    const agent = await addNode(page, `${prefix}-${String.fromCharCode(97 + i)}`, { run: prefix, suite: 'compare' })
    agents.push(agent)
    await writeHistory(page, agent, cpu)
  }
  return agents
}

const chart = (page: Page): Locator => page.getByTestId('compare-chart')
const drawnIds = async (page: Page): Promise<string> => (await chart(page).getAttribute('data-nodes')) ?? ''
const rankedIds = async (page: Page): Promise<string> =>
  (await page.getByTestId('compare-rank').evaluateAll(rows => rows.map(r => r.getAttribute('data-node-id')))).join(',')
/** How many points each drawn line has, in the order of data-nodes. */
const linePoints = async (page: Page): Promise<number[]> => ((await chart(page).getAttribute('data-line-points')) ?? '').split(',').map(Number)
const ids = (agents: Agent[]) => agents.map(a => a.id).join(',')

/** Every fleet history request the page makes, as its query. */
function watchFleetRequests(page: Page): URLSearchParams[] {
  const seen: URLSearchParams[] = []
  page.on('request', (r) => {
    const url = new URL(r.url())
    if (url.pathname === '/api/v1/history') seen.push(url.searchParams)
  })
  return seen
}

test.beforeEach(async ({ page }) => {
  await logIn(page)
})

test('the fleet view draws a line per node, ranks them, follows the metric, label, search and range, and keeps them over a reload', async ({ page }) => {
  test.setTimeout(120_000)
  const prefix = `e2e-cmp-${Date.now()}`
  const [hi, mid, lo] = await addFleet(page, prefix)
  const agents = [hi!, mid!, lo!]
  try {
    const requests = watchFleetRequests(page)
    // From the header, for any logged-in user.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Compare', exact: true }).click()
    await expect(page).toHaveURL(url => url.pathname === '/compare')
    await expect(page.getByTestId('compare')).toHaveAttribute('data-loading', 'false')

    // By label: the three nodes, one line each, highest CPU first.
    await page.getByTestId('compare-label').selectOption(`run:${prefix}`)
    await expect(page).toHaveURL(url => url.searchParams.get('label') === `run:${prefix}`)
    await expect.poll(() => requests.at(-1)?.get('label')).toBe(`run:${prefix}`)
    await expect(chart(page)).toHaveAttribute('data-lines', '3')
    await expect.poll(() => drawnIds(page)).toBe(ids([hi!, mid!, lo!]))
    // 24 h in 300 buckets of 288 s: the three hours of data are ~37 buckets on each line.
    for (const n of await linePoints(page)) expect(n).toBeGreaterThan(30)
    expect(Number(await chart(page).getAttribute('data-buckets'))).toBeGreaterThan(250)
    await expect(chart(page).locator('canvas')).toBeVisible()
    expect(await rankedIds(page)).toBe(ids([hi!, mid!, lo!]))
    // The list's figures are the written ones: averages near 80, 50 and 20, descending.
    const averages = await page.getByTestId('compare-rank').evaluateAll(rows => rows.map(r => Number(r.getAttribute('data-average'))))
    expect(averages[0]).toBeGreaterThan(75)
    expect(averages[0]).toBeLessThan(85)
    expect(averages[1]).toBeGreaterThan(45)
    expect(averages[1]).toBeLessThan(55)
    expect(averages[2]).toBeGreaterThan(15)
    expect(averages[2]).toBeLessThan(25)
    await expect(page.getByTestId('compare-rank').first()).toContainText(hi!.hostname)
    await expect(page.getByTestId('compare-summary')).toContainText('CPU: 3 nodes by average')

    // The hover readout names a node where the lines are (the last three of 24 hours), and says
    // when there is none.
    const over = chart(page).locator('.u-over')
    const box = (await over.boundingBox())!
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.2)
    await expect(page.getByTestId('compare-hover')).toContainText('no data at this time')
    await page.mouse.move(box.x + box.width * 0.95, box.y + box.height * 0.2)
    await expect(page.getByTestId('compare-hover')).toContainText(prefix)

    // Another metric: fetched again, in the URL, and memory ranks them the other way round.
    const before = requests.length
    await page.getByTestId('compare-metric').selectOption('memory_percent')
    await expect(page).toHaveURL(url => url.searchParams.get('metric') === 'memory_percent' && url.searchParams.get('label') === `run:${prefix}`)
    await expect.poll(() => requests.length).toBeGreaterThan(before)
    expect(requests.at(-1)!.get('metric')).toBe('memory_percent')
    await expect.poll(() => drawnIds(page)).toBe(ids([lo!, mid!, hi!]))
    expect(await rankedIds(page)).toBe(ids([lo!, mid!, hi!]))
    await expect(page.getByTestId('compare-summary')).toContainText('Memory: 3 nodes')

    // A range from the keyboard, then a reload keeps metric, label and range.
    await page.getByTestId('history-range-6h').focus()
    await page.keyboard.press('Enter')
    await expect(page).toHaveURL(url => url.searchParams.get('range') === '6h')
    await expect.poll(() => Number(requests.at(-1)!.get('to')) - Number(requests.at(-1)!.get('from'))).toBe(6 * 3600)
    await page.reload()
    await expect(page.getByTestId('compare-metric')).toHaveValue('memory_percent')
    await expect(page.getByTestId('compare-label')).toHaveValue(`run:${prefix}`)
    await expect(page.getByTestId('history-range-6h')).toHaveAttribute('aria-pressed', 'true')
    await expect.poll(() => drawnIds(page)).toBe(ids([lo!, mid!, hi!]))
    // 6 h in 2-minute buckets (from the 1-minute tier): ~88 on each line hold data, more than at 24 h.
    await expect.poll(async () => Math.min(...await linePoints(page))).toBeGreaterThan(70)

    // Dragging across the chart zooms into that stretch (a custom range in the URL).
    const overlay = chart(page).locator('.u-over')
    const area = (await overlay.boundingBox())!
    await page.mouse.move(area.x + area.width * 0.6, area.y + area.height / 2)
    await page.mouse.down()
    await page.mouse.move(area.x + area.width * 0.75, area.y + area.height / 2, { steps: 5 })
    await page.mouse.move(area.x + area.width * 0.9, area.y + area.height / 2, { steps: 5 })
    await page.mouse.up()
    await expect(page).toHaveURL(url => url.searchParams.has('from') && !url.searchParams.has('range') && url.searchParams.get('metric') === 'memory_percent')
    await expect(page.getByTestId('history-range-custom')).toHaveAttribute('aria-pressed', 'true')
    await page.getByTestId('history-reset-zoom').click()
    await expect(page).toHaveURL(url => url.searchParams.get('range') === '6h')

    // By search instead of label: "-b" matches one node; then back to the label, ranked by latest.
    await page.getByTestId('compare-label').selectOption('')
    await page.getByTestId('compare-search').fill(`${prefix}-b`)
    await expect(page).toHaveURL(url => url.searchParams.get('q') === `${prefix}-b` && !url.searchParams.has('label'))
    await expect.poll(() => drawnIds(page)).toBe(String(mid!.id))
    expect(requests.at(-1)!.get('nodes')).toBe(String(mid!.id))

    // Explicit ids from a link, with the chosen nodes named and a way back.
    await page.goto(`/compare?nodes=${hi!.id},${lo!.id}&range=6h`)
    await expect(page.getByTestId('compare-chosen')).toContainText(hi!.hostname)
    await expect.poll(() => drawnIds(page)).toBe(ids([hi!, lo!]))

    // A node of the list opens its detail on the dashboard, on the same range, from the keyboard.
    await page.getByTestId('compare-rank').first().getByRole('link').focus()
    await page.keyboard.press('Enter')
    await expect(page).toHaveURL(url => url.pathname === '/' && url.searchParams.get('node') === String(hi!.id) && url.searchParams.get('range') === '6h')
    await expect(page.getByTestId('node-detail').getByRole('heading', { name: hi!.hostname })).toBeVisible()
    await expect(page.getByTestId('history-range-6h')).toHaveAttribute('aria-pressed', 'true')

    // From the dashboard's search to the fleet chart of the same nodes.
    await page.goto('/')
    await page.getByTestId('dash-search').fill(prefix)
    await expect(page.getByTestId('dash-count')).toContainText('3 of')
    await page.getByTestId('dash-compare').click()
    await expect(page).toHaveURL(url => url.pathname === '/compare' && url.searchParams.get('q') === prefix)
    await expect.poll(() => drawnIds(page)).toBe(ids([hi!, mid!, lo!]))
  }
  finally {
    for (const agent of agents) await page.request.delete(`/api/v1/nodes/${agent.id}`)
  }
})

test('the fleet view caps the lines and says so, and shows no match, no data and API errors plainly', async ({ page }) => {
  test.setTimeout(120_000)
  const prefix = `e2e-cmp-${Date.now()}`
  const agents = await addFleet(page, prefix, { count: 9 })
  const quiet = await addNode(page, `${prefix}-quiet`, { suite: 'compare' })
  try {
    // Twelve nodes with data: the top 10 are drawn, and the summary says how many there are.
    await page.goto(`/compare?label=run:${prefix}`)
    await expect(chart(page)).toHaveAttribute('data-lines', '10')
    await expect(page.getByTestId('compare-rank')).toHaveCount(10)
    await expect(page.getByTestId('compare-summary')).toContainText('Top 10 of 12 nodes')
    const latest = await page.getByTestId('compare-rank').evaluateAll(rows => rows.map(r => Number(r.getAttribute('data-average'))))
    expect(latest).toEqual([...latest].sort((a, b) => b - a))
    await page.getByTestId('compare-top').selectOption('all')
    await expect(page).toHaveURL(url => url.searchParams.get('top') === 'all')
    await expect(chart(page)).toHaveAttribute('data-lines', '12')
    await page.getByTestId('compare-by').selectOption('latest')
    await expect(page).toHaveURL(url => url.searchParams.get('by') === 'latest')
    const byLatest = await page.getByTestId('compare-rank').evaluateAll(rows => rows.map(r => Number(r.getAttribute('data-latest'))))
    expect(byLatest).toHaveLength(12)
    expect(byLatest).toEqual([...byLatest].sort((a, b) => b - a))

    // A search nothing matches.
    await page.goto(`/compare?q=${prefix}-nothing`)
    await expect(page.getByTestId('compare-no-match')).toContainText('No node matches')
    await page.getByRole('button', { name: 'Compare every node' }).click()
    await expect(page).toHaveURL(url => !url.searchParams.has('q'))

    // A node without history.
    await page.goto(`/compare?nodes=${quiet.id}`)
    await expect(page.getByTestId('compare-empty')).toContainText('No data from this node')

    // A range the API refuses: its message, not a blank chart.
    await page.goto(`/compare?nodes=${quiet.id}&from=900000000&to=900003600`)
    await expect(page.getByTestId('compare-error')).toContainText('year 2000')
  }
  finally {
    for (const agent of [...agents, quiet]) await page.request.delete(`/api/v1/nodes/${agent.id}`)
  }
})

// Screenshots for review: COMPARE_SHOTS=/dir node scripts/e2e.mjs tests/e2e/compare.spec.ts
test('screenshots of the fleet view at 1440 and 390 px, light and dark', async ({ page }) => {
  const dir = process.env.COMPARE_SHOTS
  test.skip(!dir, 'set COMPARE_SHOTS to a directory to take them')
  test.setTimeout(120_000)
  mkdirSync(dir!, { recursive: true })
  const prefix = `e2e-cmp-${Date.now()}`
  const agents = await addFleet(page, prefix, { count: 11 })
  try {
    for (const scheme of ['light', 'dark'] as const) {
      for (const width of [1440, 390]) {
        await page.emulateMedia({ colorScheme: scheme })
        await page.setViewportSize({ width, height: width > 500 ? 1000 : 844 })
        await page.goto(`/compare?label=run:${prefix}&top=20&range=6h`)
        await expect(chart(page)).toHaveAttribute('data-lines', '14')
        const over = chart(page).locator('.u-over')
        const box = (await over.boundingBox())!
        await page.mouse.move(box.x + box.width * 0.7, box.y + box.height * 0.3)
        await page.screenshot({ path: `${dir}/compare-${width}-${scheme}.png`, fullPage: true })
        // The header's link and the dashboard's "Compare over time".
        await page.goto(`/?q=${prefix}`)
        await expect(page.getByTestId('dash-compare')).toBeVisible()
        await page.screenshot({ path: `${dir}/dashboard-${width}-${scheme}.png` })
      }
    }
  }
  finally {
    for (const agent of agents) await page.request.delete(`/api/v1/nodes/${agent.id}`)
  }
})
