import { createHash } from 'node:crypto'
import type { AgentFileView, AgentVersionView } from '../../shared/contracts/rest'

/** The files agents download, by name under /agent/. */
export const AGENT_FILES = {
  'nodepulse-agent.mjs': 'application/javascript; charset=utf-8',
  'nodepulse-agent.sh': 'text/x-shellscript; charset=utf-8',
} as const
export type AgentFileName = keyof typeof AGENT_FILES

export interface AgentFile { name: AgentFileName, body: Buffer, sha256: string, contentType: string }

/**
 * The agent files bundled into the server at build time (scripts/build-agent.mjs), read once and
 * hashed once: they cannot change while the server runs.
 */
export function createAgentFiles(read: (name: AgentFileName) => Promise<Buffer | undefined>, packageVersion: string) {
  const cache = new Map<AgentFileName, Promise<AgentFile | undefined>>()

  /** One file with its hash; undefined when this build does not have it. */
  const file = (name: AgentFileName): Promise<AgentFile | undefined> => {
    let entry = cache.get(name)
    if (!entry) {
      entry = read(name).then(body => body && { name, body, sha256: createHash('sha256').update(body).digest('hex'), contentType: AGENT_FILES[name] })
      cache.set(name, entry)
    }
    return entry
  }

  const view = (f: AgentFile): AgentFileView => ({ path: `/agent/${f.name}`, sha256: f.sha256, bytes: f.body.length })

  return {
    file,

    /** What `/agent/version` answers; `serverUrl` is where agents should report to. */
    async version(serverUrl: string): Promise<AgentVersionView> {
      const node = await file('nodepulse-agent.mjs')
      if (!node) throw new Error('the server was built without dist/agent/nodepulse-agent.mjs (scripts/build-agent.mjs)')
      const shell = await file('nodepulse-agent.sh')
      const content = createHash('sha256').update(node.sha256).update(shell?.sha256 ?? '').digest('hex')
      return { version: `${packageVersion}+${content.slice(0, 8)}`, node_agent: view(node), shell_agent: shell ? view(shell) : null, server_url: serverUrl }
    },
  }
}

export type AgentFiles = ReturnType<typeof createAgentFiles>
