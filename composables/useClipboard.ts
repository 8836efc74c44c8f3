/** Selects an element's text so the user can copy it by hand. */
function selectText(element: HTMLElement) {
  const range = document.createRange()
  range.selectNodeContents(element)
  const selection = window.getSelection()
  selection?.removeAllRanges()
  selection?.addRange(range)
}

/**
 * Copies text with the Clipboard API. Plain-HTTP pages on a LAN address have no Clipboard API,
 * so the fallback selects the text in `element` and tries the old copy command; when even that is
 * refused the text stays selected and the user is told to press Ctrl+C.
 */
export function useClipboard() {
  const state = ref<'idle' | 'copied' | 'selected'>('idle')
  let reset: ReturnType<typeof setTimeout> | undefined

  async function copy(text: string, element?: HTMLElement | null) {
    clearTimeout(reset)
    try {
      await navigator.clipboard.writeText(text)
      state.value = 'copied'
    }
    catch {
      if (element) selectText(element)
      let copied = false
      try {
        copied = Boolean(element) && document.execCommand('copy')
      }
      catch {
        copied = false
      }
      state.value = copied ? 'copied' : 'selected'
    }
    reset = setTimeout(() => {
      state.value = 'idle'
    }, 4000)
  }

  onBeforeUnmount(() => clearTimeout(reset))
  return { state: readonly(state), copy }
}
