import { readFileSync } from 'node:fs'
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml'
import { z } from 'zod'
import { memberName, memberUrl } from '../../../shared/contracts/seed003'

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
const configFile = z.object({ cluster: clusterBlock.optional() }, { error: 'must be a mapping with a cluster: section' })

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

/** "line N" of the node at `path` (or of its closest parent that exists). */
function lineOf(doc: Document, lines: LineCounter, path: (string | number)[]): number | null {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true)
    if ((isScalar(node) || isMap(node) || isSeq(node)) && node.range) return lines.linePos(node.range[0]).line
  }
  return null
}

/**
 * Reads the YAML file at NODEPULSE_CONFIG: its `cluster:` block (the seed's, with a `token` per
 * manual node). A syntax error or a bad value throws a message naming the file, the line and the field.
 */
export function parseClusterConfig(text: string, file: string): ClusterConfig {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  const [syntax] = doc.errors
  if (syntax) {
    const at = lines.linePos(syntax.pos[0])
    throw new Error(`${file} line ${at.line}, column ${at.col}: ${syntax.message.split('\n')[0]}`)
  }
  const result = configFile.safeParse(doc.toJS() ?? {})
  if (!result.success) {
    const issue = result.error.issues[0]!
    const unknown = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined
    const path = [...issue.path.filter((p): p is string | number => typeof p !== 'symbol'), ...(unknown ? [unknown] : [])]
    const line = lineOf(doc, lines, path)
    const field = path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${p}`)).join('') || '(top level)'
    const message = unknown ? 'is not a setting of this section (a typo?)' : issue.message
    throw new Error(`${file}${line ? ` line ${line}` : ''}, ${field}: ${message}`)
  }
  const c = result.data.cluster
  if (!c) return NO_CLUSTER
  return { enabled: c.enabled, intervalSeconds: c.aggregation_interval, timeoutSeconds: c.request_timeout, discovery: c.discovery_method, members: c.manual_nodes }
}

/** The cluster settings of the file NODEPULSE_CONFIG names, or none when it is unset. */
export function loadClusterConfig(path: string | undefined): ClusterConfig {
  if (!path) return NO_CLUSTER
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  }
  catch (error) {
    throw new Error(`NODEPULSE_CONFIG=${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  return parseClusterConfig(text, `NODEPULSE_CONFIG ${path}`)
}
