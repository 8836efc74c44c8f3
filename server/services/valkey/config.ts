import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { parseConfigFile } from '../configFile'

/** One watched Valkey/Redis cluster: where to find it and how to log in (the same for every node). */
export interface ValkeyClusterConfig {
  name: string
  /** Seed addresses tried in order for discovery. */
  seeds: { host: string, port: number }[]
  /** false answers the seed's "not in cluster mode" (empty lists with a message) and polls nothing. */
  useCluster: boolean
  username?: string
  password?: string
  /** rediss:// (or a CA file or insecure TLS given): TLS to every node. */
  tls: { ca?: string, rejectUnauthorized: boolean } | null
}

/** The name of the cluster VALKEY_URL gives. */
export const ENV_CLUSTER_NAME = 'valkey'

const SCHEMES = new Set(['redis:', 'rediss:', 'valkey:', 'valkeys:'])

interface Address { host: string, port: number, username?: string, password?: string, secure: boolean }

/** `host:port` or `redis[s]://[user:password@]host:port` (port 6379 when left out); null when it is neither. */
function parseAddress(item: string): Address | null {
  const text = /^[a-z]+:\/\//i.test(item) ? item : `redis://${item}`
  const url = URL.canParse(text) ? new URL(text) : null
  const port = url ? Number(url.port || 6379) : Number.NaN
  if (!url || !SCHEMES.has(url.protocol) || !url.hostname || !Number.isInteger(port) || port < 1 || port > 65535) return null
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    secure: url.protocol === 'rediss:' || url.protocol === 'valkeys:',
  }
}

/** The address as a message may show it: without credentials. */
const shown = (item: string) => item.replace(/\/\/[^@/]*@/, '//…@')
const ADDRESS_FORMS = 'expected host:port or redis[s]://[user:password@]host:port'

/** One cluster from its parsed seed addresses: explicit credentials win over the URLs'; TLS when any says so. */
function toCluster(name: string, seeds: Address[], o: { username?: string, password?: string, useCluster: boolean, ca?: string, insecure: boolean }): ValkeyClusterConfig {
  return {
    name, seeds: seeds.map(({ host, port }) => ({ host, port })), useCluster: o.useCluster,
    username: o.username || seeds.find(s => s.username)?.username, password: o.password || seeds.find(s => s.password)?.password,
    tls: seeds.some(s => s.secure) || o.ca || o.insecure ? { ca: o.ca, rejectUnauthorized: !o.insecure } : null,
  }
}

type Env = Record<string, string | undefined>

/**
 * VALKEY_URL: one cluster named "valkey", from one or more seed addresses, comma-separated, each
 * `host:port` or a URL (`redis://user:password@host:port`, `rediss://…` for TLS); credentials may
 * also come from VALKEY_USERNAME / VALKEY_PASSWORD, which win over the URL's.
 */
export function valkeyFromEnv(env: Env): ValkeyClusterConfig[] {
  const items = (env.VALKEY_URL ?? '').split(',').map(s => s.trim()).filter(Boolean)
  if (!items.length) return []
  const seeds = items.map((item) => {
    const a = parseAddress(item)
    if (!a) throw new Error(`VALKEY_URL has an invalid address "${shown(item)}": ${ADDRESS_FORMS}`)
    return a
  })
  const caPath = env.VALKEY_TLS_CA || undefined
  let ca: string | undefined
  if (caPath) {
    try {
      ca = readFileSync(caPath, 'utf8')
    }
    catch (error) {
      throw new Error(`VALKEY_TLS_CA=${caPath} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
    }
  }
  return [toCluster(ENV_CLUSTER_NAME, seeds, {
    username: env.VALKEY_USERNAME, password: env.VALKEY_PASSWORD, ca, insecure: env.VALKEY_TLS_INSECURE === 'true',
    useCluster: env.VALKEY_USE_CLUSTER === undefined || env.VALKEY_USE_CLUSTER === '' ? true : env.VALKEY_USE_CLUSTER === 'true',
  })]
}

const text = (what: string) => z.string({ error: `must be ${what} (quote it if YAML reads it as a number)` }).min(1, `must be ${what}`)

/** Seed addresses as a comma list or a YAML list, each checked like VALKEY_URL's. */
const seedList = z.union([z.string(), z.array(z.string())], { error: 'must be seed addresses: a comma list or a YAML list of host:port or redis[s]:// URLs' })
  .transform((value, ctx) => {
    const listed = Array.isArray(value)
    const items = (listed ? value : value.split(',')).map(s => s.trim())
    const out: Address[] = []
    items.forEach((item, i) => {
      if (!item && !listed) return
      const a = parseAddress(item)
      if (a) out.push(a)
      else ctx.addIssue({ code: 'custom', path: listed ? [i] : [], message: `has an invalid address "${shown(item)}": ${ADDRESS_FORMS}` })
    })
    if (!out.length && items.every(i => !i)) ctx.addIssue({ code: 'custom', message: 'must list at least one seed address' })
    return out
  })

/** A PEM file's path, read at start-up. */
const caFile = text('the path of a PEM file').transform((path, ctx) => {
  try {
    return readFileSync(path, 'utf8')
  }
  catch (error) {
    ctx.addIssue({ code: 'custom', message: `${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` })
    return z.NEVER
  }
})

const clusterEntry = z.strictObject({
  name: text('the cluster\'s name').max(64, 'must be at most 64 characters').regex(/^[\w.-]+$/, 'may hold only letters, digits, ".", "-" and "_"'),
  url: seedList,
  username: text('a user name').optional(),
  password: text('a password').optional(),
  use_cluster: z.boolean({ error: 'must be true or false' }).default(true),
  tls_ca: caFile.optional(),
  tls_insecure: z.boolean({ error: 'must be true or false' }).default(false),
})

/** The file's `valkey:` list; `taken` are names already in use (VALKEY_URL's cluster). */
const valkeySection = (taken: string[]) => z.object({
  valkey: z.array(clusterEntry, { error: 'must be a list of clusters, each {name, url, …}' }).max(100, 'at most 100 clusters')
    .superRefine((list, ctx) => {
      const seen = new Set<string>()
      list.forEach((c, i) => {
        if (taken.includes(c.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${c.name}" is the name of the cluster VALKEY_URL gives; choose another` })
        else if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${c.name}" is listed twice` })
        seen.add(c.name)
      })
    })
    .optional(),
}, { error: 'must be a mapping of sections (cluster:, valkey:)' })

/**
 * Reads the `valkey:` list of the YAML file at NODEPULSE_CONFIG: one cluster per entry, named, with
 * the same settings VALKEY_* give one. A bad value, or a name used twice (or VALKEY_URL's, among
 * `taken`), throws a message naming the file, the line and the field.
 */
export function parseValkeyConfig(text: string, file: string, taken: string[] = []): ValkeyClusterConfig[] {
  const list = parseConfigFile(text, file, valkeySection(taken)).valkey ?? []
  return list.map(c => toCluster(c.name, c.url, { username: c.username, password: c.password, useCluster: c.use_cluster, ca: c.tls_ca, insecure: c.tls_insecure }))
}
