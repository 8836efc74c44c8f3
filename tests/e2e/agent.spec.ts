import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { machine, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { test, expect, type Page } from '@playwright/test'
import type { AgentVersionView } from '../../shared/contracts/rest'
import { TOKEN_PLACEHOLDER } from '../../utils/agentInstall'
import { logIn } from './helpers'

/** A command running in `sh` as in an operator's terminal, in a process group of its own. */
interface ShellRun { output: () => string, stop: () => Promise<void> }

/**
 * Runs a copied command with `sh -c` in `cwd`. Only HOME (a state directory for the agent's spool)
 * and PATH (this Node first) are set for it; nothing in the command is changed.
 */
function runInShell(command: string, cwd: string): ShellRun {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('NODEPULSE_')) env[key] = value
  Object.assign(env, { HOME: cwd, XDG_STATE_HOME: join(cwd, 'state'), PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` })
  const child = spawn('sh', ['-c', command], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000))
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  return {
    output: () => output,
    // The whole group: sh, curl and the agent it started.
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) return
      const signal = (name: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, name)
        }
        catch { /* already gone */ }
      }
      signal('SIGTERM')
      const killer = setTimeout(() => signal('SIGKILL'), 5000)
      await exited
      clearTimeout(killer)
    },
  }
}

async function addNodeInBrowser(page: Page, hostname: string): Promise<number> {
  await page.getByTestId('add-node').click()
  await page.getByTestId('node-hostname').fill(hostname)
  await page.getByTestId('node-submit').click()
  const row = page.locator(`[data-testid="node-row"][data-hostname="${hostname}"]`)
  await expect(row).toHaveCount(1)
  return Number(await row.getAttribute('data-node-id'))
}

/** Copies a command with its Copy button, as a user would, and checks the clipboard holds what is shown. */
async function copyCommand(page: Page, testid: string): Promise<string> {
  await page.getByTestId(`copy-${testid}`).click()
  await expect(page.getByTestId(`copy-${testid}`)).toHaveText('Copied')
  const copied = await page.evaluate(() => navigator.clipboard.readText())
  await expect(page.getByTestId(testid)).toHaveText(copied)
  return copied
}

test.beforeEach(async ({ page }) => {
  await logIn(page)
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Nodes', exact: true }).click()
  await expect(page).toHaveURL(/\/nodes$/)
})

for (const agentKind of ['node', 'shell'] as const) {
  test(`the ${agentKind === 'node' ? 'Node' : 'shell'} agent run with the copied command reports, and its card shows the host detail`, async ({ page, baseURL }) => {
    test.setTimeout(90_000)
    const hostname = `e2e-agent-${Date.now()}`
    const id = await addNodeInBrowser(page, hostname)
    const token = (await page.getByTestId('token-value').textContent())!.trim()

    // The server says which agents it serves and its own URL; the commands use that URL.
    const install = page.getByTestId('install-commands')
    await expect(install).toHaveAttribute('data-server-url', baseURL!)
    await expect(page.getByTestId('install-version-error')).toHaveCount(0)
    await expect(install.getByTestId('install-agent-file')).toContainText('SHA-256')
    await expect(page.getByTestId('install-node-service')).toContainText('--install-service')

    if (agentKind === 'shell') await install.getByRole('tab', { name: /Shell agent/ }).click()
    const command = await copyCommand(page, `install-${agentKind}-foreground`)
    expect(command).toContain(`--server ${baseURL} --node-id ${id}`)
    expect(command).toContain(`NODEPULSE_TOKEN='${token}'`)
    expect(command).not.toContain('--token')

    const dir = mkdtempSync(join(tmpdir(), 'nodepulse-e2e-agent-'))
    const agent = runInShell(command, dir)
    try {
      await page.goto(`/?q=${encodeURIComponent(hostname)}`)
      const card = page.locator(`[data-testid="node-card"][data-hostname="${hostname}"]`)
      await expect(card.getByTestId('node-status'), agent.output()).toHaveAttribute('data-status', 'online', { timeout: 30_000 })

      await card.click()
      const dialog = page.getByTestId('node-detail')
      await expect(dialog.getByTestId('detail-kind')).toHaveText('agent')
      await expect(dialog.getByTestId('detail-load')).toHaveText(/\d+(\.\d+)? \(1 min\)/)
      await expect(dialog.getByTestId('detail-os')).not.toBeEmpty()
      await expect(dialog.getByTestId('detail-arch')).toHaveText(machine())
      await expect(dialog.getByTestId('detail-processes')).toHaveText(/^\d+$/)
      await expect(dialog.getByTestId('detail-memory-bytes')).toContainText('used of')
      await expect(dialog.getByTestId('detail-disks')).toContainText('/')
    }
    finally {
      await agent.stop()
      rmSync(dir, { recursive: true, force: true })
      await page.request.delete(`/api/v1/nodes/${id}`)
    }
  })
}

test('a node\'s row shows its install commands with a token placeholder, and rotating fills them in', async ({ page }) => {
  const hostname = `e2e-install-${Date.now()}`
  const id = await addNodeInBrowser(page, hostname)
  await page.getByTestId('secret-panel').getByRole('button', { name: 'Done, I have saved it' }).click()

  const row = page.locator(`[data-testid="node-row"][data-hostname="${hostname}"]`)
  await row.getByTestId('install-agent').click()
  const dialog = page.getByTestId('install-dialog')
  await expect(dialog.getByRole('heading', { name: `Install the agent on ${hostname}` })).toBeVisible()
  await expect(dialog.getByTestId('install-node-foreground')).toContainText(`NODEPULSE_TOKEN='${TOKEN_PLACEHOLDER}' node --lite-mode --no-expose-wasm nodepulse-agent.mjs`)
  await expect(dialog.getByTestId('install-node-foreground')).toContainText(`--node-id ${id}`)

  // The tabs work from the keyboard: Right arrow selects the shell agent.
  await dialog.getByRole('tab', { name: 'Node.js agent' }).focus()
  await page.keyboard.press('ArrowRight')
  await expect(dialog.getByRole('tab', { name: 'Shell agent (no Node)' })).toHaveAttribute('aria-selected', 'true')
  await expect(dialog.getByRole('tab', { name: 'Shell agent (no Node)' })).toBeFocused()
  // A build without the shell agent says so instead (`shell_agent: null`); a server without the route (HTML) has the defaults.
  const version = await (await page.request.get('/agent/version')).json().catch(() => null) as AgentVersionView | null
  if (version?.shell_agent === null) await expect(dialog.getByTestId('install-shell-missing')).toBeVisible()
  else await expect(dialog.getByTestId('install-shell-service')).toContainText(`printf '%s\\n' '${TOKEN_PLACEHOLDER}' | sudo sh nodepulse-agent.sh --token-file /dev/stdin`)

  // Rotate from there: confirm, and the new token's commands appear.
  await dialog.getByTestId('install-rotate').click()
  await expect(dialog).toHaveCount(0)
  const confirm = page.getByRole('dialog')
  await expect(confirm).toContainText(hostname)
  await confirm.getByTestId('confirm-ok').click()
  const token = page.getByTestId('token-value')
  await expect(token).toHaveText(/^npa_[\w-]{40,}$/)
  await expect(page.getByTestId('install-node-foreground')).toContainText(`NODEPULSE_TOKEN='${(await token.textContent())!.trim()}'`)

  await page.request.delete(`/api/v1/nodes/${id}`)
})

test('without an answer from /agent/version the commands use the page\'s address and say so', async ({ page, baseURL }) => {
  await page.route('**/agent/version', route => route.fulfill({ status: 503, contentType: 'application/json', body: '{"message":"Starting up; try again in a moment."}' }))
  const hostname = `e2e-fallback-${Date.now()}`
  const id = await addNodeInBrowser(page, hostname)
  await expect(page.getByTestId('install-version-error')).toContainText(`use this page's address, ${baseURL}`)
  await expect(page.getByTestId('install-node-foreground')).toContainText(`curl -fsSL ${baseURL}/agent/nodepulse-agent.mjs -o nodepulse-agent.mjs`)
  await page.request.delete(`/api/v1/nodes/${id}`)
})
