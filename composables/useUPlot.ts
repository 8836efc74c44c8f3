import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'

/**
 * A uPlot chart in `box` for the life of the component: drawn on mount, redrawn when the colour
 * scheme or `data` (a new answer) changes, fed in place when `revision` bumps (a live point),
 * resized with its box. `options` gets the box's width and whether the page is dark.
 */
export function useUPlot(
  box: Readonly<Ref<HTMLElement | null>>,
  options: (width: number, dark: boolean) => uPlot.Options,
  data: () => uPlot.AlignedData,
  revision: () => number = () => 0,
) {
  const dark = useDarkScheme()
  const chart = shallowRef<uPlot | null>(null)

  function draw() {
    chart.value?.destroy()
    chart.value = box.value ? new uPlot(options(box.value.clientWidth, dark.value), data(), box.value) : null
  }

  onMounted(() => {
    draw()
    const resize = new ResizeObserver(() => {
      const c = chart.value
      if (c && box.value) c.setSize({ width: box.value.clientWidth, height: c.height })
    })
    if (box.value) resize.observe(box.value)
    onBeforeUnmount(() => resize.disconnect())
  })
  onBeforeUnmount(() => chart.value?.destroy())
  watch(dark, draw)
  watch(data, draw)
  watch(revision, () => chart.value?.setData(data()))

  return { chart, dark }
}
