import { CLUSTER_SLOTS, type ClusterNode, type ValkeyRole } from '../../../shared/contracts/seed004'

/** A slot range a node serves, both ends included. */
export interface SlotRange { from: number, to: number }

/** A slot moving between nodes: `[slot->-id]` (migrating to id) or `[slot-<-id]` (importing from id). */
export interface SlotMove { slot: number, nodeId: string }

/** One line of `CLUSTER NODES`, every field parsed. */
export interface ParsedClusterNode {
  id: string
  /** `host:port` (IPv6 in brackets), the `@busport` stripped; null for a node without an address (noaddr, `:0`). */
  address: string | null
  host: string | null
  port: number | null
  busPort: number | null
  /** The announced hostname (`ip:port@bus,hostname`), if any. */
  hostname: string | null
  /** Auxiliary fields of Redis 7.2+ (`,shard-id=…`). */
  aux: Record<string, string>
  /** The flags as the server wrote them (`noflags` is an empty list). */
  flags: string[]
  myself: boolean
  role: ValkeyRole
  fail: boolean
  /** `fail?`: some node suspects it is down; not yet agreed by the cluster. */
  pfail: boolean
  handshake: boolean
  noaddr: boolean
  masterId: string | null
  pingSent: number
  pongRecv: number
  configEpoch: number
  linkState: 'connected' | 'disconnected'
  slots: SlotRange[]
  migrating: SlotMove[]
  importing: SlotMove[]
  /** Masters only: the ids of the replicas that follow it. */
  replicas: string[]
}

const NODE_ID = /^[0-9a-f]{40}$/i

/** Splits `host:port@bus[,hostname[,key=value…]]` (host may be IPv6 without brackets, or empty). */
function parseAddress(field: string): Pick<ParsedClusterNode, 'address' | 'host' | 'port' | 'busPort' | 'hostname' | 'aux'> {
  const [endpoint = '', ...rest] = field.split(',')
  const aux: Record<string, string> = {}
  let hostname: string | null = null
  rest.forEach((part, i) => {
    const eq = part.indexOf('=')
    if (eq > 0) aux[part.slice(0, eq)] = part.slice(eq + 1)
    else if (i === 0 && part) hostname = part
  })
  const at = endpoint.indexOf('@')
  const hostPort = at >= 0 ? endpoint.slice(0, at) : endpoint
  const busPort = at >= 0 ? Number(endpoint.slice(at + 1)) : null
  const colon = hostPort.lastIndexOf(':')
  const rawHost = colon >= 0 ? hostPort.slice(0, colon) : hostPort
  const port = colon >= 0 ? Number(hostPort.slice(colon + 1)) : Number.NaN
  const host = rawHost.replace(/^\[(.*)\]$/, '$1')
  const valid = host !== '' && Number.isInteger(port) && port > 0
  return {
    address: valid ? (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`) : null,
    host: valid ? host : null,
    port: valid ? port : null,
    busPort: busPort !== null && Number.isInteger(busPort) ? busPort : null,
    hostname,
    aux,
  }
}

function parseSlotField(field: string, node: Pick<ParsedClusterNode, 'slots' | 'migrating' | 'importing'>): void {
  const move = /^\[(\d+)-([<>])-([0-9a-f]{40})\]$/i.exec(field)
  if (move) {
    const entry = { slot: Number(move[1]), nodeId: move[3]! }
    ;(move[2] === '>' ? node.migrating : node.importing).push(entry)
    return
  }
  const range = /^(\d+)(?:-(\d+))?$/.exec(field)
  if (!range) throw new Error(`unexpected slot field "${field}"`)
  const from = Number(range[1])
  const to = range[2] === undefined ? from : Number(range[2])
  if (from > to || to >= CLUSTER_SLOTS) throw new Error(`slot range "${field}" is out of 0-${CLUSTER_SLOTS - 1}`)
  node.slots.push({ from, to })
}

/**
 * Parses the reply of `CLUSTER NODES`: one node per line (id, address, flags, master, ping, pong,
 * epoch, link state, slots…). Fills each master's `replicas`. Throws on a line it cannot read,
 * naming it, since a half-understood topology would report wrong roles.
 */
export function parseClusterNodes(text: string): ParsedClusterNode[] {
  const nodes: ParsedClusterNode[] = []
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim()
    if (!line) continue
    const fields = line.split(/\s+/)
    if (fields.length < 8) throw new Error(`CLUSTER NODES line ${i + 1} has ${fields.length} fields, expected at least 8`)
    const [id, addressField, flagField, master, ping, pong, epoch, link, ...slotFields] = fields as [string, string, string, string, string, string, string, string, ...string[]]
    if (!NODE_ID.test(id)) throw new Error(`CLUSTER NODES line ${i + 1} has no node id`)
    if (link !== 'connected' && link !== 'disconnected') throw new Error(`CLUSTER NODES line ${i + 1} has an unknown link state "${link}"`)
    const flags = flagField === 'noflags' ? [] : flagField.split(',')
    const has = (f: string) => flags.includes(f)
    const address = parseAddress(addressField)
    const node: ParsedClusterNode = {
      id, ...address, flags,
      myself: has('myself'),
      role: has('slave') || has('replica') ? 'slave' : 'master',
      fail: has('fail'),
      pfail: has('fail?'),
      handshake: has('handshake'),
      noaddr: has('noaddr') || address.address === null,
      masterId: master === '-' || !NODE_ID.test(master) ? null : master,
      pingSent: Number(ping) || 0,
      pongRecv: Number(pong) || 0,
      configEpoch: Number(epoch) || 0,
      linkState: link,
      slots: [], migrating: [], importing: [], replicas: [],
    }
    for (const f of slotFields) parseSlotField(f, node)
    nodes.push(node)
  }
  const byId = new Map(nodes.map(n => [n.id, n]))
  for (const n of nodes) {
    if (n.role === 'slave' && n.masterId) byId.get(n.masterId)?.replicas.push(n.id)
  }
  return nodes
}

/** Slot ranges as text: "0-5460,10923" (single slots alone); "" for none. */
export function formatSlots(ranges: SlotRange[]): string {
  return [...ranges].sort((a, b) => a.from - b.from).map(r => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(',')
}

/** Sorted, merged ranges of slots that none of `ranges` covers, as "a-b" text. */
export function uncoveredSlots(ranges: SlotRange[]): string[] {
  const sorted = [...ranges].sort((a, b) => a.from - b.from)
  const gaps: SlotRange[] = []
  let next = 0
  for (const r of sorted) {
    if (r.from > next) gaps.push({ from: next, to: r.from - 1 })
    next = Math.max(next, r.to + 1)
  }
  if (next < CLUSTER_SLOTS) gaps.push({ from: next, to: CLUSTER_SLOTS - 1 })
  return gaps.map(g => formatSlots([g]))
}

/** A parsed node as seed 004's `GET /api/cluster/nodes` lists it. */
export function toClusterNode(n: ParsedClusterNode): ClusterNode {
  return {
    nodeId: n.id,
    nodeAddress: n.address ?? '',
    role: n.role,
    status: n.linkState,
    ...(n.role === 'master' ? { slots: formatSlots(n.slots) } : {}),
    flags: n.flags,
    ...(n.role === 'master' ? { replicas: n.replicas } : {}),
    ...(n.masterId ? { masterNodeId: n.masterId } : {}),
  }
}

/** `INFO` as flat `key → value` (section headers and blank lines dropped). */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const colon = line.indexOf(':')
    if (colon > 0) out[line.slice(0, colon)] = line.slice(colon + 1)
  }
  return out
}

/** Keys in all databases from INFO keyspace (`db0:keys=12,expires=0,avg_ttl=0`). */
export function keyspaceKeys(info: Record<string, string>): number {
  let total = 0
  for (const [key, value] of Object.entries(info)) {
    if (!/^db\d+$/.test(key)) continue
    const keys = /(?:^|,)keys=(\d+)/.exec(value)
    if (keys) total += Number(keys[1])
  }
  return total
}
