import type { AgentFileView, AgentVersionView } from '~~/shared/contracts/rest'
import type { AgentKind } from '~/utils/agentInstall'
import type { ApiError } from '~/utils/apiError'

// Shared by every caller and fetched once per page load: it changes only when the server is upgraded.
const info = ref<AgentVersionView | null>(null)
const error = ref<ApiError | null>(null)
let request: Promise<void> | null = null

async function load(): Promise<void> {
  try {
    const answer = parseAgentVersion(await $fetch<unknown>('/agent/version', { responseType: 'json' }))
    info.value = answer
    error.value = answer ? null : { status: 200, message: 'Its answer to /agent/version is not an agent version: it may be older than the agents.', issues: [] }
  }
  catch (e) {
    error.value = toApiError(e)
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
  const file = (kind: AgentKind): AgentFileView | null => {
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
  return { info: readonly(info), error: readonly(error), serverUrl, file, path, retry }
}
