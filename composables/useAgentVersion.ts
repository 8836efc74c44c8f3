import type { AgentKind } from '~/utils/agentInstall'
import type { ApiError } from '~/utils/apiError'

/** One served agent file, so an operator can check what they downloaded. */
export interface AgentFile { path: string, sha256: string, bytes: number }

/** `GET /agent/version` (no login): the agents this server serves and the URL agents should use. */
export interface AgentVersion {
  version: string
  node_agent: AgentFile
  /** Null when this server does not serve the shell agent. */
  shell_agent: AgentFile | null
  /** NODEPULSE_PUBLIC_URL, or the origin the request came to. */
  server_url: string
}

// Shared by every caller and fetched once per page load: it changes only when the server is upgraded.
const info = ref<AgentVersion | null>(null)
const error = ref<ApiError | null>(null)
const pending = ref(false)
let request: Promise<void> | null = null

async function load(): Promise<void> {
  pending.value = true
  try {
    info.value = await $fetch<AgentVersion>('/agent/version')
    error.value = null
  }
  catch (e) {
    error.value = toApiError(e)
  }
  finally {
    pending.value = false
  }
}

/**
 * The served agents and the server URL to put in install commands. Until `/agent/version`
 * answers (or when it fails: see `error`) the URL is this page's origin and the paths are the defaults.
 */
export function useAgentVersion() {
  request ??= load()
  const serverUrl = computed(() => info.value?.server_url || window.location.origin)
  /** The served file of an agent; null when it is not served or (see `error`) not known. */
  const file = (kind: AgentKind): AgentFile | null => {
    const known = info.value
    return known && (kind === 'node' ? known.node_agent : known.shell_agent)
  }
  /** Where an agent is downloaded from: its served path, the default until known, null when not served. */
  const path = (kind: AgentKind): string | null => (info.value ? file(kind)?.path ?? null : DEFAULT_AGENT_PATHS[kind])
  /** Asks again after a failure. */
  function retry(): Promise<void> {
    request = load()
    return request
  }
  return { info: readonly(info), error: readonly(error), pending: readonly(pending), serverUrl, file, path, retry }
}
