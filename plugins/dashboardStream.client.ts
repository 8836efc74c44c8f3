import { holdNodeStatsEarly } from '~/composables/useNodeStats'

/**
 * A visit that opens on the dashboard starts its live stream as soon as the session check says
 * someone is logged in (the same request the auth middleware waits on), not after the route has
 * resolved and the page has mounted: at 10,000 nodes the first snapshot is the slowest answer the
 * page waits for. An anonymous visit opens nothing (no 401 on the way to the login page). Once the
 * first page has rendered (the dashboard then holds the stream itself) or failed, this hold is let go.
 */
export default defineNuxtPlugin((nuxtApp) => {
  if (window.location.pathname !== '/') return
  let letGo: (() => void) | null = null
  let settled = false
  const settle = () => {
    settled = true
    letGo?.()
  }
  nuxtApp.hooks.hookOnce('page:finish', settle)
  nuxtApp.hooks.hookOnce('app:error', settle)
  // A failed check is the auth middleware's to report; the stream then waits for the page.
  useAuthStore().fetchMe().then((user) => {
    if (user && !settled) letGo = holdNodeStatsEarly()
  }, () => {})
})
