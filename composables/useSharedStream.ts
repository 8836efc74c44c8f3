import type { SharedStream } from '~/utils/sharedStream'

/**
 * Joins the shared stream at `url` for as long as the calling component lives; a getter URL
 * re-joins when it changes, null joins none. A stream refused with 401 means the session ended:
 * the user is sent to log in again, as `$api` does for requests.
 */
export function useSharedStream<T>(url: MaybeRefOrGetter<string | null>) {
  const router = useRouter()
  const auth = useAuthStore()
  const current = shallowRef<SharedStream<T> | null>(null)
  let release = () => {}

  watch(() => toValue(url), (value) => {
    release()
    release = () => {}
    current.value = null
    if (!value) return
    const joined = acquireStream<T>(value)
    current.value = joined.stream
    release = joined.release
  }, { immediate: true })
  onScopeDispose(() => release())

  const refusedWith = computed(() => current.value?.refusedWith.value ?? null)
  watch(refusedWith, (status) => {
    if (status !== 401) return
    auth.forget()
    void router.replace({ path: '/login', query: { redirect: router.currentRoute.value.fullPath } })
  })

  return {
    data: computed(() => current.value?.data.value ?? null),
    connected: computed(() => current.value?.connected.value ?? false),
    error: computed(() => current.value?.error.value ?? null),
    ended: computed(() => current.value?.ended.value ?? false),
    refusedWith,
  }
}
