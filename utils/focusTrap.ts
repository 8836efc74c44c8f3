const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])'

/**
 * A keydown handler for a modal's root that keeps Tab and Shift+Tab cycling inside it.
 * Chrome's modal <dialog> makes the page inert but lets Tab leave for the browser's own UI.
 */
export function keepTabInside(event: KeyboardEvent): void {
  const root = event.currentTarget
  if (event.key !== 'Tab' || !(root instanceof HTMLElement)) return
  const focusable = [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter(el => el.getClientRects().length > 0)
  const first = focusable[0]
  const last = focusable.at(-1)
  if (!first || !last) return
  const active = document.activeElement
  if (event.shiftKey && (active === first || !root.contains(active))) {
    event.preventDefault()
    last.focus()
  }
  else if (!event.shiftKey && (active === last || !root.contains(active))) {
    event.preventDefault()
    first.focus()
  }
}
