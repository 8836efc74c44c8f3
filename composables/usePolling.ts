/**
 * Runs `task` when the component mounts and then every `intervalMs`, never two at once,
 * pausing while the tab is hidden and catching up as soon as it is shown again.
 */
export function usePolling(task: () => Promise<void>, intervalMs: number) {
  let timer: ReturnType<typeof setTimeout> | undefined
  let running = false
  let stopped = false

  async function tick() {
    clearTimeout(timer)
    if (stopped) return
    if (!document.hidden && !running) {
      running = true
      try {
        await task()
      }
      finally {
        running = false
      }
    }
    if (!stopped) timer = setTimeout(tick, intervalMs)
  }

  function onVisibility() {
    if (!document.hidden) void tick()
  }

  onMounted(() => {
    document.addEventListener('visibilitychange', onVisibility)
    void tick()
  })
  onBeforeUnmount(() => {
    stopped = true
    clearTimeout(timer)
    document.removeEventListener('visibilitychange', onVisibility)
  })
}
