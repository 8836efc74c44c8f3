/** What a confirm dialog asks. */
export interface ConfirmRequest {
  title: string
  message: string
  confirmLabel: string
  danger?: boolean
}

// One dialog for the whole app, rendered by AppConfirmDialog in the layout.
const current = shallowRef<(ConfirmRequest & { resolve: (ok: boolean) => void }) | null>(null)

/** `await confirm({...})` resolves to true when the user confirms, false on Cancel or Esc. */
export function useConfirm() {
  function confirm(request: ConfirmRequest): Promise<boolean> {
    current.value?.resolve(false)
    return new Promise((resolve) => {
      current.value = { ...request, resolve }
    })
  }

  function answer(ok: boolean) {
    const request = current.value
    current.value = null
    request?.resolve(ok)
  }

  return { request: readonly(current), confirm, answer }
}
