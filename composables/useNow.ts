// One shared clock for every relative time on the page: one timer, however many cells tick.
const now = ref(Date.now())
let users = 0
let timer: ReturnType<typeof setInterval> | undefined

/** The current time in ms, updated every second while any component uses it. */
export function useNow() {
  onMounted(() => {
    users++
    now.value = Date.now()
    timer ??= setInterval(() => {
      now.value = Date.now()
    }, 1000)
  })
  onBeforeUnmount(() => {
    users--
    if (users === 0) {
      clearInterval(timer)
      timer = undefined
    }
  })
  return readonly(now)
}
