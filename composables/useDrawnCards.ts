/** Whether two lists hold items with the same ids in the same order. */
const sameIds = (a: readonly { id: number }[], b: readonly { id: number }[]) => a.length === b.length && a.every((x, i) => x.id === b[i]!.id)

/**
 * The ids of the items of `list` to draw now. When the list comes with other items (a search, a
 * sort, a page turn, the first snapshot), its first `first` are drawn at once and the rest
 * `batch` more per animation frame after it, so the first screen of cards is painted without
 * waiting for the 40 below it. An item already drawn stays drawn while it stays in the list, so
 * its card keeps its element (focus, a screen reader's place). Values changing in place (a
 * message) draw everything as before.
 */
export function useDrawnCards(list: () => readonly { id: number }[], first: number, batch: number) {
  const limit = ref(Number.POSITIVE_INFINITY)
  let drawn = new Set<number>()
  let frame = 0
  const more = () => {
    limit.value += batch
    frame = limit.value < list().length ? requestAnimationFrame(more) : 0
  }
  watch(list, (next, prev) => {
    if ((prev && sameIds(prev, next)) || next.length <= first) return
    limit.value = first
    cancelAnimationFrame(frame)
    frame = requestAnimationFrame(more)
  }, { immediate: true, flush: 'pre' })
  onScopeDispose(() => cancelAnimationFrame(frame))

  return computed<ReadonlySet<number>>(() => {
    const items = list()
    // What was drawn before counts while it is still in the list; read here, so it is what the last render drew.
    const shown = new Set(items.filter((item, i) => i < limit.value || drawn.has(item.id)).map(item => item.id))
    drawn = shown
    return shown
  })
}
