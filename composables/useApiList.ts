import type { ApiError } from '~/utils/apiError'

/**
 * A list read from a GET endpoint: `loaded` turns true after the first answer, `loadError`
 * holds the server's message when the latest read failed (the last good list stays shown).
 */
export function useApiList<T>(url: string) {
  const { $api } = useNuxtApp()
  const items = shallowRef<T[]>([])
  const loaded = ref(false)
  const loadError = ref<ApiError | null>(null)

  async function refresh() {
    try {
      items.value = await $api<T[]>(url)
      loadError.value = null
    }
    catch (error) {
      loadError.value = toApiError(error)
    }
    finally {
      loaded.value = true
    }
  }

  return { items, loaded, loadError, refresh }
}
