import { holdNodeStatsEarly } from '~/composables/useNodeStats'

/**
 * A visit that opens on the dashboard starts its live stream here, beside the session check and
 * the page code rather than after them: at 10,000 nodes the first snapshot is the slowest answer
 * the page waits for. Once the first page has rendered (the dashboard then holds the stream
 * itself) or the visit went elsewhere or failed, this hold is let go.
 */
export default defineNuxtPlugin((nuxtApp) => {
  if (window.location.pathname !== '/') return
  const letGo = holdNodeStatsEarly()
  nuxtApp.hooks.hookOnce('page:finish', letGo)
  nuxtApp.hooks.hookOnce('app:error', letGo)
})
