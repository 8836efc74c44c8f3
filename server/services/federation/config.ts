import { hostname } from 'node:os'
import { z } from 'zod'
import { memberName, memberUrl } from '../../../shared/contracts/seed003'
import { parseConfigFile } from '../configFile'

/** The seed's `cluster:` block, as NODEPULSE_CONFIG holds it (intervals in seconds). */
const clusterBlock = z.strictObject({
  enabled: z.boolean({ error: 'must be true or false' }).default(true),
  aggregation_interval: z.number({ error: 'must be a number of seconds' }).min(0.5, 'must be at least 0.5 seconds').max(86_400, 'must be at most 86400 seconds').default(60),
  request_timeout: z.number({ error: 'must be a number of seconds' }).min(0.1, 'must be at least 0.1 seconds').max(300, 'must be at most 300 seconds').default(5),
  discovery_method: z.enum(['manual', 'mdns'], { error: 'must be "manual" or "mdns"' }).default('manual'),
  manual_nodes: z.array(z.strictObject({
    name: memberName,
    url: memberUrl,
    token: z.string({ error: 'must be the member\'s viewer API token' }).min(1, 'must be the member\'s viewer API token'),
  }), { error: 'must be a list of {name, url, token}' }).max(500, 'at most 500 members').default([])
    .superRefine((list, ctx) => {
      const seen = new Set<string>()
      list.forEach((m, i) => {
        if (seen.has(m.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${m.name}" is listed twice` })
        seen.add(m.name)
      })
    }),
  mdns: z.strictObject({
    announce: z.boolean({ error: 'must be true or false' }).default(false),
    name: memberName.optional(),
    interface: z.ipv4({ error: 'must be the IPv4 address of the interface to use (e.g. 192.168.1.10)' }).optional(),
    token: z.string({ error: 'must be a viewer API token' }).min(1, 'must be a viewer API token').optional(),
    tokens: z.record(z.string().min(1).max(64), z.string({ error: 'must be a viewer API token' }).min(1, 'must be a viewer API token'), { error: 'must map member names to viewer API tokens' }).default({}),
  }, { error: 'must be a mapping (announce, name, interface, token, tokens)' }).optional(),
})

// Other top-level sections are the operator's own and are left alone.
const configFile = z.object({ cluster: clusterBlock.optional() }, { error: 'must be a mapping of sections (cluster:, valkey:)' })

/** mDNS (`_nodepulse._tcp`): whether this server announces itself, and the tokens for members found by browsing. */
export interface MdnsConfig {
  announce: boolean
  /** The name announced, which aggregators give this server as a member (default: the host name). */
  name: string
  /** The IPv4 address of the one interface to use; all interfaces when unset. */
  interface?: string
  /** The token for every member found whose name (or instance id) is not in `tokens`. */
  token?: string
  tokens: Record<string, string>
}

/** Seed 003's aggregation settings. */
export interface ClusterConfig {
  enabled: boolean
  intervalSeconds: number
  timeoutSeconds: number
  discovery: 'manual' | 'mdns'
  /** The members the file lists; they seed the `members` table at start. */
  members: { name: string, url: string, token: string }[]
  mdns: MdnsConfig
}

const defaultMdns = (): MdnsConfig => ({ announce: false, name: memberNameFromHost(hostname()), tokens: {} })
/** The host name as a member name (letters, digits, ".", "-", "_"). */
const memberNameFromHost = (host: string) => host.replace(/[^\w.-]+/g, '-').slice(0, 64) || 'nodepulse'

/** Without NODEPULSE_CONFIG: members added through the API are polled with the seed's defaults (60 s, 5 s). */
export const NO_CLUSTER: ClusterConfig = { enabled: true, intervalSeconds: 60, timeoutSeconds: 5, discovery: 'manual', members: [], mdns: defaultMdns() }

/**
 * Reads the `cluster:` block of the YAML file at NODEPULSE_CONFIG (the seed's, with a `token` per
 * manual node). A syntax error or a bad value throws a message naming the file, the line and the field.
 */
export function parseClusterConfig(text: string, file: string): ClusterConfig {
  const c = parseConfigFile(text, file, configFile).cluster
  if (!c) return NO_CLUSTER
  const mdns = c.mdns ? { ...defaultMdns(), ...c.mdns, name: c.mdns.name ?? defaultMdns().name } : defaultMdns()
  return { enabled: c.enabled, intervalSeconds: c.aggregation_interval, timeoutSeconds: c.request_timeout, discovery: c.discovery_method, members: c.manual_nodes, mdns }
}
