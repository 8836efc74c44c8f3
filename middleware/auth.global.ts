const AUTH_PAGES = new Set(['/login', '/setup'])

/** Sends visitors to setup (first run) or login, and logged-in users away from those two pages. */
export default defineNuxtRouteMiddleware(async (to) => {
  const auth = useAuthStore()
  try {
    if (await auth.fetchMe()) {
      return AUTH_PAGES.has(to.path) ? navigateTo('/') : undefined
    }
    if (await auth.fetchSetupRequired()) {
      return to.path === '/setup' ? undefined : navigateTo('/setup')
    }
  }
  catch (error) {
    return abortNavigation({ statusCode: 503, message: toApiError(error).message })
  }
  if (to.path === '/setup') return navigateTo('/login')
  if (to.path === '/login') return
  return auth.requireLogin(to.fullPath)
})
