import type { NodeKind } from '../../shared/contracts/seed000'
import type { ClusterNode, OtherClusterNode } from '../../shared/contracts/seed004'
import type { MemberRow } from '../db/schema'
import { DomainError } from './errors'
import { MEMBER_LABEL } from './federation/memberApi'
import type { Members } from './federation/members'
import type { Registry } from './registry'
import { startedInstance } from './started'
import { computeStatus } from './status'
import type { ValkeyService } from './valkey/service'

type Entry = ClusterNode | OtherClusterNode
type Lister = () => Promise<{ nodes: Entry[], message?: string }>

/**
 * `GET /api/cluster/nodes`, shared by seed 004 (a Valkey cluster's nodes) and seed 003 (member
 * nodes): one lister per node kind, so a new kind adds its entry here. Valkey entries are exactly
 * the seed's; every other kind's carry `kind`.
 */
export function createClusterNodes(registry: Registry, valkey: ValkeyService, members: Members, opts: { staleAfterSeconds: number }) {
  const fromRegistry = (kind: Exclude<NodeKind, 'valkey'>): Lister => async () => {
    const now = Date.now()
    // A member node is as reachable as its member's last poll said.
    const byMember = kind === 'member' ? new Map((await members.rows()).map(m => [m.name, m])) : new Map<string, MemberRow>()
    return {
      nodes: registry.list().filter(n => n.kind === kind).map((n) => {
        const member = kind === 'member' ? n.labels[MEMBER_LABEL.member] ?? null : null
        const via = member === null ? undefined : byMember.get(member)
        return {
          kind, nodeId: String(n.id), nodeAddress: n.hostname, role: kind,
          status: computeStatus(n, now, opts.staleAfterSeconds), flags: n.maintenance ? ['maintenance'] : [],
          name: n.hostname, url: via?.url ?? null, member, last_seen: n.live ? new Date(now).toISOString() : n.lastSeen?.toISOString() ?? null,
          reachable: kind === 'member' ? via?.reachable ?? null : n.live ? true : n.watchedReachable,
          last_error: via?.reachable === false ? via.lastError : null,
        }
      }),
    }
  }
  const listers: Record<NodeKind, Lister> = {
    valkey: () => valkey.nodes(),
    master: fromRegistry('master'),
    agent: fromRegistry('agent'),
    member: fromRegistry('member'),
  }

  return {
    /**
     * The nodes of one kind, or of every kind. Unfiltered, a Valkey failure does not hide the other
     * nodes: its message rides along instead; `?kind=valkey` answers the failure itself (503/500).
     */
    async list(kind?: NodeKind): Promise<{ nodes: Entry[], message?: string }> {
      if (kind) return listers[kind]()
      const nodes: Entry[] = []
      const messages: string[] = []
      for (const lister of [...(valkey.configured ? [listers.valkey] : []), listers.master, listers.agent, listers.member]) {
        try {
          const part = await lister()
          nodes.push(...part.nodes)
          if (part.message) messages.push(part.message)
        }
        catch (error) {
          if (!(error instanceof DomainError)) throw error
          messages.push(error.message)
        }
      }
      return { nodes, ...(messages.length ? { message: messages.join('; ') } : {}) }
    },
  }
}

export type ClusterNodes = ReturnType<typeof createClusterNodes>

const running = startedInstance<ClusterNodes>()
/** The running cluster node list (503 until start-up has finished). */
export const useClusterNodes = running.use
/** Publishes the running cluster node list (start-up) or withdraws it (stop). */
export const setClusterNodes = running.set
