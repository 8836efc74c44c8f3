import type { Role, TokenView } from '~~/shared/contracts/rest'

/** An API token with its secret, which the server shows only in the answer that created it. */
export type CreatedApiToken = TokenView & { token: string }

/** The API tokens and the actions on them (admins only). */
export function useApiTokens() {
  const { $api } = useNuxtApp()
  const { items: tokens, loaded, loadError, refresh } = useApiList<TokenView>('/api/v1/tokens')
  // Viewers get a notice instead of the list, so they do not ask for what the server would refuse.
  onMounted(() => {
    if (useAuthStore().isAdmin) void refresh()
  })

  async function create(name: string, role: Role): Promise<CreatedApiToken> {
    const created = await $api<CreatedApiToken>('/api/v1/tokens', { method: 'POST', body: { name, role } })
    await refresh()
    return created
  }

  async function remove(id: number): Promise<void> {
    await $api(`/api/v1/tokens/${id}`, { method: 'DELETE' })
    await refresh()
  }

  return { tokens, loaded, loadError, refresh, create, remove }
}
