/**
 * For a link that opens something in place (a node's detail): true, with the navigation stopped,
 * for a plain left click; false for a modified or middle click, which keeps the link's own URL
 * (a new tab or window).
 */
export function openInPlace(event: MouseEvent): boolean {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return false
  event.preventDefault()
  return true
}
