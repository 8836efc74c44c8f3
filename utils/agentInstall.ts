import type { AgentFileView, AgentVersionView } from '../shared/contracts/rest'
import { NODE_AGENT_FLAGS } from '../shared/agentFlags'
import { shellQuote, shellWord } from './shell'

/** The two agents the server serves: the Node.js one and the POSIX shell one (Linux without Node). */
export type AgentKind = 'node' | 'shell'
/** Try it in the foreground, or install it as a systemd service (as root). */
export type AgentRunMode = 'foreground' | 'service'

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)
const isAgentFile = (value: unknown): value is AgentFileView => isRecord(value)
  && typeof value.path === 'string' && value.path.startsWith('/') && typeof value.sha256 === 'string' && typeof value.bytes === 'number'

/**
 * The answer of `/agent/version` when it is one, else null: a server without the route answers
 * with the dashboard's HTML page (200), which must not pass for "no agents served".
 */
export function parseAgentVersion(value: unknown): AgentVersionView | null {
  if (!isRecord(value) || typeof value.version !== 'string' || typeof value.server_url !== 'string' || !/^https?:\/\//.test(value.server_url)) return null
  if (!isAgentFile(value.node_agent) || (value.shell_agent !== null && !isAgentFile(value.shell_agent))) return null
  return { version: value.version, server_url: value.server_url, node_agent: value.node_agent, shell_agent: value.shell_agent }
}

/** Where each agent file is served when `/agent/version` cannot say. */
export const DEFAULT_AGENT_PATHS: Record<AgentKind, string> = {
  node: '/agent/nodepulse-agent.mjs',
  shell: '/agent/nodepulse-agent.sh',
}

/** Stands in for a token the page cannot show (it is shown only when added or rotated). */
export const TOKEN_PLACEHOLDER = 'PASTE-THE-NODE-TOKEN-HERE'

// The file each is saved as on the host (whatever the server's path) and what runs it.
const FILES: Record<AgentKind, string> = { node: 'nodepulse-agent.mjs', shell: 'nodepulse-agent.sh' }
const INTERPRETERS: Record<AgentKind, string> = { node: 'node', shell: 'sh' }

export interface AgentCommandInput {
  kind: AgentKind
  mode: AgentRunMode
  /** The server's own URL, as agents reach it (`server_url` of `/agent/version`). */
  serverUrl: string
  /** The agent file's path on that server, e.g. `/agent/nodepulse-agent.mjs`. */
  path: string
  nodeId: number
  /** The node's agent token, or null to put {@link TOKEN_PLACEHOLDER} in its place. */
  token: string | null
}

/**
 * The one-line command that downloads an agent and runs it for one node. The token never goes in
 * argv (where `ps` shows it to every local user): the foreground run gets it in the environment;
 * the service install gets it on stdin (`printf` is a shell builtin, so no process's argv holds it,
 * and `sudo VAR=…` would put it in sudo's). Every value from the server or the user is
 * shell-quoted where it needs to be.
 */
export function agentCommand({ kind, mode, serverUrl, path, nodeId, token }: AgentCommandInput): string {
  const server = serverUrl.replace(/\/+$/, '')
  const file = FILES[kind]
  const download = ['curl -fsSL', shellWord(`${server}${path.startsWith('/') ? '' : '/'}${path}`), '-o', file]
  const quotedToken = shellQuote(token ?? TOKEN_PLACEHOLDER)
  const run = mode === 'service'
    ? [
        'printf', '\'%s\\n\'', quotedToken, '|', 'sudo', INTERPRETERS[kind], file,
        // The unit carries its own Node flags.
        '--token-file', '/dev/stdin',
        '--server', shellWord(server),
        '--node-id', String(nodeId),
        '--install-service',
      ]
    : [
        `NODEPULSE_TOKEN=${quotedToken}`,
        INTERPRETERS[kind],
        ...(kind === 'node' ? NODE_AGENT_FLAGS : []),
        file,
        '--server', shellWord(server),
        '--node-id', String(nodeId),
      ]
  return `${download.join(' ')} && ${run.join(' ')}`
}
