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
})

// Other top-level sections are the operator's own and are left alone.
const configFile = z.object({ cluster: clusterBlock.optional() }, { error: 'must be a mapping of sections (cluster:, valkey:)' })

/** Seed 003's aggregation settings. */
export interface ClusterConfig {
  enabled: boolean
  intervalSeconds: number
  timeoutSeconds: number
  discovery: 'manual' | 'mdns'
  /** The members the file lists; they seed the `members` table at start. */
  members: { name: string, url: string, token: string }[]
}

/** Without NODEPULSE_CONFIG: members added through the API are polled with the seed's defaults (60 s, 5 s). */
export const NO_CLUSTER: ClusterConfig = { enabled: true, intervalSeconds: 60, timeoutSeconds: 5, discovery: 'manual', members: [] }

/**
 * Reads the `cluster:` block of the YAML file at NODEPULSE_CONFIG (the seed's, with a `token` per
 * manual node). A syntax error or a bad value throws a message naming the file, the line and the field.
 */
export function parseClusterConfig(text: string, file: string): ClusterConfig {
  const c = parseConfigFile(text, file, configFile).cluster
  if (!c) return NO_CLUSTER
  return { enabled: c.enabled, intervalSeconds: c.aggregation_interval, timeoutSeconds: c.request_timeout, discovery: c.discovery_method, members: c.manual_nodes }
}
