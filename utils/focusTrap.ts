const CANDIDATES = 'a[href], area[href], button, input, select, textarea, summary, iframe, [contenteditable]:not([contenteditable="false"]), [tabindex]'

/** The elements inside `root` that Tab stops at, in document order (positive tabindex is not used here). */
function tabStops(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(CANDIDATES)]
    .filter(el => el.tabIndex >= 0 && !el.matches(':disabled') && !el.closest('[inert]') && el.getClientRects().length > 0)
}

/**
 * A keydown handler for a modal's root that keeps Tab and Shift+Tab cycling inside it.
 * Chrome's modal <dialog> makes the page inert but lets Tab leave for the browser's own UI.
 */
export function keepTabInside(event: KeyboardEvent): void {
  const root = event.currentTarget
  if (event.key !== 'Tab' || !(root instanceof HTMLElement)) return
  const stops = tabStops(root)
  const first = stops[0]
  const last = stops.at(-1)
  const active = document.activeElement
  const wrapTo = event.shiftKey ? last : first
  // Between the first and the last stop the browser's own order is right: only the ends wrap.
  // (Focus on the dialog itself counts as before the first stop, so Shift+Tab goes to the last.)
  if (first && last && active && root.contains(active)) {
    const edge = event.shiftKey ? first : last
    const beyond = event.shiftKey ? Node.DOCUMENT_POSITION_PRECEDING : Node.DOCUMENT_POSITION_FOLLOWING
    if (active.compareDocumentPosition(edge) & beyond) return
  }
  event.preventDefault()
  wrapTo?.focus()
}
