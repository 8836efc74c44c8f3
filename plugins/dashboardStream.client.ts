import { holdNodeStatsEarly } from '~/composables/useNodeStats'
import { dropEarlySource } from '~/utils/earlyStream'

/**
 * A visit that opens on the dashboard has its session check and live stream started by the page's
 * inline head script, before any bundle loads (utils/earlyStream.ts): at 10,000 nodes the first
 * snapshot is the slowest answer the page waits for. Here the app takes the stream over as soon
 * as the session check says someone is logged in, not after the route has resolved and the page
 * has mounted. An anonymous visit opens nothing (no 401 on the way to the login page). Once the
 * first page has rendered (the dashboard then holds the stream itself) or failed, this hold is let
 * go, and a stream the inline script opened that nothing took is closed.
 */
export default defineNuxtPlugin((nuxtApp) => {
  if (window.location.pathname !== '/') return
  let letGo: (() => void) | null = null
  let settled = false
  const settle = () => {
    settled = true
    letGo?.()
    dropEarlySource()
  }
  nuxtApp.hooks.hookOnce('page:finish', settle)
  nuxtApp.hooks.hookOnce('app:error', settle)
  // A failed check is the auth middleware's to report; the stream then waits for the page.
  useAuthStore().fetchMe().then((user) => {
    if (user && !settled) letGo = holdNodeStatsEarly()
  }, () => {})
})
