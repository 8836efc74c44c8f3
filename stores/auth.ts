import { defineStore } from 'pinia'
import type { MeView, SessionState } from '~~/shared/contracts/rest'
import { takeEarlySession } from '~/utils/earlyStream'

/**
 * Who is logged in. `/me` is asked once per page load and after that only when a login,
 * a setup or a logout changes the answer, so route guards cost no request per navigation.
 */
export const useAuthStore = defineStore('auth', () => {
  const nuxtApp = useNuxtApp()
  const user = ref<MeView | null>(null)
  const checked = ref(false)
  // Once a user exists, setup never opens again: `false` is cached for good.
  const setupRequired = ref<boolean | null>(null)
  let pendingMe: Promise<MeView | null> | null = null

  const isAdmin = computed(() => user.value?.role === 'admin')

  function signedIn(me: MeView) {
    user.value = me
    checked.value = true
    setupRequired.value = false
  }

  /**
   * The current user (null when logged out); asks the server only the first time. The session
   * check answers 200 either way (with whether setup is open), so a first visit logs no 401.
   */
  function fetchMe(): Promise<MeView | null> {
    if (checked.value) return Promise.resolve(user.value)
    // The page's inline script may have asked already (earlyStream.ts); if that failed, ask again.
    const early = takeEarlySession()
    pendingMe ??= (early ? early.then(state => state ?? $fetch<SessionState>('/api/v1/auth/session')) : $fetch<SessionState>('/api/v1/auth/session'))
      .then(({ user: me, setup_required }) => {
        user.value = me
        checked.value = true
        setupRequired.value = setup_required
        return me
      })
      .finally(() => {
        pendingMe = null
      })
    return pendingMe
  }

  /** Whether the first-run setup page is still open. */
  async function fetchSetupRequired(): Promise<boolean> {
    if (setupRequired.value === false) return false
    const { setup_required } = await $fetch<{ setup_required: boolean }>('/api/v1/auth/setup')
    setupRequired.value = setup_required
    return setup_required
  }

  async function login(username: string, password: string): Promise<void> {
    signedIn(await $fetch<MeView>('/api/v1/auth/login', { method: 'POST', body: { username, password } }))
  }

  async function setup(username: string, password: string): Promise<void> {
    signedIn(await $fetch<MeView>('/api/v1/auth/setup', { method: 'POST', body: { username, password } }))
  }

  async function logout(): Promise<void> {
    await $fetch('/api/v1/auth/logout', { method: 'POST' })
    forget()
  }

  /** Drops the user locally (logout). */
  function forget() {
    user.value = null
    checked.value = true
  }

  /**
   * There is no session (the server answered 401: it expired, the user was deleted, the secret
   * changed; or there never was one): forget the user and go to the login page, which comes back
   * to `returnTo` (the page shown now, unless given). Route middleware returns what this returns.
   */
  function requireLogin(returnTo = nuxtApp.$router.currentRoute.value.fullPath) {
    forget()
    const query = returnTo === '/' ? {} : { redirect: returnTo }
    return nuxtApp.runWithContext(() => navigateTo({ path: '/login', query }))
  }

  return { user, isAdmin, setupRequired, fetchMe, fetchSetupRequired, login, setup, logout, forget, requireLogin }
})
