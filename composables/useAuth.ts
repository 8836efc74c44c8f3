/** Only same-site paths are followed after login, so `?redirect=` cannot send users elsewhere. */
function safeRedirect(target: unknown): string {
  return typeof target === 'string' && target.startsWith('/') && !target.startsWith('//') && !target.startsWith('/\\')
    ? target
    : '/'
}

/** The logged-in user and the actions that change who that is, with the navigation that follows them. */
export function useAuth() {
  const store = useAuthStore()
  const { user, isAdmin } = storeToRefs(store)

  async function login(username: string, password: string, redirect?: unknown) {
    await store.login(username, password)
    await navigateTo(safeRedirect(redirect), { replace: true })
  }

  async function setup(username: string, password: string) {
    await store.setup(username, password)
    await navigateTo('/', { replace: true })
  }

  async function logout() {
    await store.logout()
    await navigateTo('/login')
  }

  return { user, isAdmin, fetchMe: store.fetchMe, login, setup, logout }
}
