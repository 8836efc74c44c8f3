import type { ApiError } from '~/utils/apiError'

/** Wraps an async action with `pending` and the server's error message for the form that runs it. */
export function useAction<A extends unknown[], R>(action: (...args: A) => Promise<R>) {
  const pending = ref(false)
  const error = ref<ApiError | null>(null)

  /** Runs the action; resolves to its result, or undefined when it failed (see `error`). */
  async function run(...args: A): Promise<R | undefined> {
    pending.value = true
    error.value = null
    try {
      return await action(...args)
    }
    catch (e) {
      error.value = toApiError(e)
      return undefined
    }
    finally {
      pending.value = false
    }
  }

  return { pending, error, run }
}
