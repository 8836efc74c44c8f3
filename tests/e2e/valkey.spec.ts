/**
 * The Valkey cluster view as an operator sees it, on a server of its own watching a real 6-node
 * Redis 7 cluster (the shared e2e server has no Valkey): masters with their replicas, slot
 * coverage and the cluster state, then a master killed and its replica promoted.
 */
import { expect, test } from '@playwright/test'
import { startRedisCluster, type RedisCluster } from '../integration/support/redisCluster'
import { startServer, type RunningServer } from '../integration/support/server'

// Apart from the integration tests' ports (21100–21115); bus ports +10000 stay below the ephemeral range.
const BASE_PORT = 21130

let redis: RedisCluster
let srv: RunningServer

test.describe.configure({ mode: 'serial' })

test.beforeAll(async () => {
  test.setTimeout(120_000)
  redis = await startRedisCluster(BASE_PORT)
  srv = await startServer({
    label: 'e2e-valkey',
    env: { VALKEY_URL: `127.0.0.1:${BASE_PORT}`, VALKEY_PASSWORD: redis.password, VALKEY_POLL_INTERVAL: '1', VALKEY_TIMEOUT: '1' },
  })
})
test.afterAll(async () => {
  await srv?.stop()
  await redis?.stop()
})

test('the Valkey page groups replicas under masters, shows coverage and state, and follows a failover', async ({ page }) => {
  test.setTimeout(60_000)
  // This server is not the config's baseURL, so the shared logIn helper's relative paths do not apply.
  await page.goto(`${srv.info.baseURL}/login`)
  await page.getByTestId('login-username').fill(srv.info.adminUser)
  await page.getByTestId('login-password').fill(srv.info.adminPassword)
  await page.getByTestId('login-submit').click()
  await expect(page.getByTestId('current-user')).toContainText(srv.info.adminUser)
  // The dashboard's cards of Valkey nodes carry their role.
  const grid = page.getByTestId('node-grid')
  await expect(grid.locator('[data-testid="valkey-role"][data-role="master"]')).toHaveCount(3, { timeout: 15_000 })
  await expect(grid.locator('[data-testid="valkey-role"][data-role="slave"]')).toHaveCount(3)
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Valkey' }).click()
  await expect(page).toHaveURL(url => url.pathname === '/valkey')

  const cluster = page.getByTestId('valkey-cluster')
  await expect(cluster).toHaveAttribute('data-state', 'ok')
  await expect(cluster).toContainText('6 nodes · 3 masters · 3 replicas')
  await expect(page.getByTestId('valkey-coverage')).toHaveText('All 16,384 slots served')
  const groups = page.getByTestId('valkey-group')
  await expect(groups).toHaveCount(3)
  for (const group of await groups.all()) {
    await expect(group.getByTestId('valkey-card')).toHaveCount(2)
    await expect(group.getByTestId('valkey-role')).toHaveText(['master', 'replica'])
  }
  const first = groups.first()
  await expect(first.getByTestId('valkey-slots')).toHaveText('Slots 0-5460')
  const master = first.getByTestId('valkey-card').first()
  await expect(master).toHaveAttribute('data-state', 'online')
  await expect(master.getByTestId('valkey-keys')).toHaveText(/^\d[\d,]*$/)
  const replicaId = await first.getByTestId('valkey-card').nth(1).getAttribute('data-node-id')

  await redis.kill(BASE_PORT)
  await expect(cluster).toHaveAttribute('data-state', 'degraded', { timeout: 15_000 })
  await expect(page.getByTestId('valkey-not-ok')).toContainText(`127.0.0.1:${BASE_PORT}`)
  // The promoted replica leads the 0-5460 group; the failed master stands alone without slots.
  const promoted = page.locator(`[data-testid="valkey-card"][data-node-id="${replicaId}"]`)
  await expect(promoted).toHaveAttribute('data-role', 'master', { timeout: 30_000 })
  await expect(page.locator(`[data-testid="valkey-group"][data-master="${replicaId}"]`).getByTestId('valkey-slots')).toHaveText('Slots 0-5460')
  await expect(page.locator('[data-testid="valkey-card"][data-state="offline"]')).toContainText('connection refused')
})
