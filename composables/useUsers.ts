import type { Role, UserView } from '~~/shared/contracts/rest'

/** The user accounts and the actions on them (admins only). */
export function useUsers() {
  const { $api } = useNuxtApp()
  const { items: users, loaded, loadError, refresh } = useApiList<UserView>('/api/v1/users')
  // Viewers get a notice instead of the list, so they do not ask for what the server would refuse.
  onMounted(() => {
    if (useAuthStore().isAdmin) void refresh()
  })

  async function create(username: string, password: string, role: Role): Promise<UserView> {
    const user = await $api<UserView>('/api/v1/users', { method: 'POST', body: { username, password, role } })
    await refresh()
    return user
  }

  async function remove(id: number): Promise<void> {
    await $api(`/api/v1/users/${id}`, { method: 'DELETE' })
    await refresh()
  }

  return { users, loaded, loadError, refresh, create, remove }
}
