import { join } from 'node:path'
import { expect, request as playwrightRequest, type APIRequestContext, type Page } from '@playwright/test'
import { E2E_ADMIN } from '../../playwright.config'
import type { NodeView } from '../../shared/contracts/rest'

/** Logs in through the login page and waits for the dashboard (the home page). */
export async function logIn(page: Page, credentials = E2E_ADMIN): Promise<void> {
  await page.goto('/login')
  await page.getByTestId('login-username').fill(credentials.username)
  await page.getByTestId('login-password').fill(credentials.password)
  await page.getByTestId('login-submit').click()
  await expect(page).toHaveURL(url => url.pathname === '/')
  await expect(page.getByTestId('current-user')).toContainText(credentials.username)
}

/** An agent node the test added: its id, name and agent token. */
export interface Agent { id: number, hostname: string, token: string }

/** Adds an agent node through the API with the page's admin session. */
export async function addNode(page: Page, hostname: string): Promise<Agent> {
  const response = await page.request.post('/api/v1/nodes', { data: { hostname } })
  expect(response.status()).toBe(201)
  const node = await response.json() as NodeView & { token: string }
  return { id: node.id, hostname: node.hostname, token: node.token }
}

/** A curl command taken apart: what the operator's shell would send. */
export interface CurlRequest { method: string, url: string, headers: Record<string, string>, data?: string, writeOut?: string }

/** Splits a POSIX shell command into words (single quotes, including the '\'' escape, and plain words). */
function shellWords(command: string): string[] {
  const words: string[] = []
  let word: string | null = null
  for (let i = 0; i < command.length; i++) {
    const ch = command[i]!
    if (ch === '\'') {
      const end = command.indexOf('\'', i + 1)
      if (end < 0) throw new Error(`Unterminated quote in: ${command}`)
      word = (word ?? '') + command.slice(i + 1, end)
      i = end
    }
    else if (ch === '\\' && i + 1 < command.length) {
      word = (word ?? '') + command[++i]
    }
    else if (/\s/.test(ch)) {
      if (word !== null) words.push(word)
      word = null
    }
    else {
      word = (word ?? '') + ch
    }
  }
  if (word !== null) words.push(word)
  return words
}

/** Parses the curl command the page shows, so the test sends exactly what the user would paste. */
export function parseCurl(command: string): CurlRequest {
  const [program, ...args] = shellWords(command.trim())
  expect(program).toBe('curl')
  const request: CurlRequest = { method: 'GET', url: '', headers: {} }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '-X') request.method = args[++i]!
    else if (arg === '-H') {
      const header = args[++i]!
      const colon = header.indexOf(':')
      request.headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim()
    }
    else if (arg === '-d') {
      request.data = args[++i]!
      if (request.method === 'GET') request.method = 'POST'
    }
    else if (arg === '-w') request.writeOut = args[++i]!
    else if (arg.startsWith('-')) throw new Error(`The test does not understand curl option ${arg}`)
    else request.url = arg
  }
  return request
}

/** The age in seconds that a last-seen cell shows ("just now" = 0). */
export function secondsAgo(text: string | null): number {
  const value = text?.trim() ?? ''
  if (value === 'just now') return 0
  const match = /^(\d+) s ago$/.exec(value)
  if (!match) throw new Error(`Not a last-seen time in seconds: "${value}"`)
  return Number(match[1])
}

/** An API request context logged in as the e2e admin of the server at baseURL (dispose it after). */
export async function adminApi(baseURL: string): Promise<APIRequestContext> {
  const api = await playwrightRequest.newContext({ baseURL })
  const login = await api.post('/api/v1/auth/login', { data: E2E_ADMIN })
  expect(login.status()).toBe(200)
  return api
}

/** Chooses `text` in the dashboard's node picker as a person would: opens it, types the text, clicks the choice. */
export async function pickScope(page: Page, text: string): Promise<void> {
  const picker = page.getByTestId('dash-scope')
  await picker.click()
  await picker.fill(text)
  await page.getByRole('listbox', { name: 'Nodes' }).getByRole('option', { name: text, exact: true }).click()
  await expect(picker).toHaveAttribute('aria-expanded', 'false')
}

/**
 * With SHOTS_DIR set: `<prefix>-<name>-<width>-<scheme>.png` of the page at 1440 and 390 px wide,
 * light and dark (the viewport and colour scheme are put back after).
 */
export async function shoot(page: Page, prefix: string, name: string): Promise<void> {
  const dir = process.env.SHOTS_DIR
  if (!dir) return
  const before = page.viewportSize()
  for (const width of [1440, 390]) {
    await page.setViewportSize({ width, height: 1000 })
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme })
      await page.screenshot({ path: join(dir, `${prefix}-${name}-${width}-${scheme}.png`), fullPage: true })
    }
  }
  await page.emulateMedia({ colorScheme: null })
  if (before) await page.setViewportSize(before)
}
