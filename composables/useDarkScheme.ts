/** Whether the browser asks for dark mode (the app follows `prefers-color-scheme`); follows changes. */
export function useDarkScheme() {
  const query = window.matchMedia('(prefers-color-scheme: dark)')
  const dark = ref(query.matches)
  const follow = (e: MediaQueryListEvent) => (dark.value = e.matches)
  query.addEventListener('change', follow)
  onScopeDispose(() => query.removeEventListener('change', follow))
  return dark
}
