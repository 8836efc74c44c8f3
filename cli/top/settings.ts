/** `nodepulse top`'s settings from flags and environment (flags win), checked once at start. */
import { readToken } from '../flags'
import { SORT_KEYS, type SortKey } from './table'

export type Env = Record<string, string | undefined>

/** Flags as citty parses them, by their long name. */
export interface TopFlags {
  'server'?: string
  'token'?: string
  'token-file'?: string
  'interval'?: string
  'sort'?: string
  'json'?: boolean
}

export interface TopSettings {
  /** The server's origin and base path, without a trailing slash. */
  server: string
  token: string
  intervalSeconds: number
  sort: SortKey
  json: boolean
  warnings: string[]
}

/** A setting top cannot run with; the message says which and how to fix it. */
export class TopSettingsError extends Error {}

const isSortKey = (s: string): s is SortKey => (SORT_KEYS as readonly string[]).includes(s)
const given = (v: string | undefined): v is string => v !== undefined && v !== ''

function apiToken(flags: TopFlags, env: Env, warnings: string[]): string {
  const token = readToken(flags, env, warnings, message => new TopSettingsError(message), { name: 'token', page: 'Tokens' })
  if (!token) throw new TopSettingsError('no API token: set NODEPULSE_TOKEN or give --token-file FILE (an API token from the Tokens page; viewer is enough)')
  return token
}

/** Reads and checks the settings; throws TopSettingsError for anything top cannot run with. */
export function resolveTopSettings(flags: TopFlags, env: Env): TopSettings {
  const warnings: string[] = []
  const [raw, from] = given(flags.server) ? [flags.server, '--server'] : [env.NODEPULSE_SERVER, 'NODEPULSE_SERVER']
  if (!given(raw)) throw new TopSettingsError('no server: give --server URL or set NODEPULSE_SERVER (e.g. https://nodepulse.example.com)')
  if (!URL.canParse(raw) || !/^https?:$/.test(new URL(raw).protocol)) throw new TopSettingsError(`${from}=${raw} is not an http:// or https:// URL`)
  const url = new URL(raw)
  if (url.search || url.hash) throw new TopSettingsError(`${from}=${raw}: give the server's address without ?query or #fragment`)
  // The server's own bounds for ?interval= (shared/contracts/seed000.ts streamQuery).
  const interval = given(flags.interval) ? Number(flags.interval) : 5
  if (!Number.isInteger(interval) || interval < 1 || interval > 60) throw new TopSettingsError(`--interval=${flags.interval} is invalid: expected whole seconds from 1 to 60`)
  const sort = flags.sort ?? 'status'
  if (!isSortKey(sort)) throw new TopSettingsError(`--sort=${sort} is invalid: expected one of ${SORT_KEYS.join(', ')}`)
  return {
    server: `${url.origin}${url.pathname.replace(/\/+$/, '')}`,
    token: apiToken(flags, env, warnings),
    intervalSeconds: interval,
    sort,
    json: flags.json === true,
    warnings,
  }
}
