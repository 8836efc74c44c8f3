import { LINE_BUDGET_BYTES } from '../../../shared/contracts/seed001'

// `data: ` before the JSON, and room for the counters a part's envelope carries (part, parts, offset).
const ENVELOPE_SLACK = 'data: '.length + 96

/** Bytes of a value as JSON. */
export const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value))

/**
 * Splits `items` into consecutive runs, in order, so that each run wrapped in its message
 * (`wrap(run)`) encodes to a data line within `budget` bytes. An item too big for a line of its
 * own still gets one (a run of one): nothing is dropped. Each item is measured once.
 */
export function splitForLines<T>(items: readonly T[], wrap: (run: T[]) => unknown, budget = LINE_BUDGET_BYTES): T[][] {
  const base = jsonBytes(wrap([])) + ENVELOPE_SLACK
  const runs: T[][] = []
  let run: T[] = []
  let size = base
  for (const item of items) {
    // One comma between list entries.
    const bytes = jsonBytes(item) + 1
    if (run.length && size + bytes > budget) {
      runs.push(run)
      run = []
      size = base
    }
    run.push(item)
    size += bytes
  }
  if (run.length || !runs.length) runs.push(run)
  return runs
}

/**
 * How many of `items`, from the first, fit one data line beside `base` (the message without them),
 * at most `max`; `bytesOf` measures one item as it adds to the message.
 */
export function fittingPrefix<T>(items: readonly T[], base: unknown, bytesOf: (item: T) => number, max: number, budget = LINE_BUDGET_BYTES): number {
  let size = jsonBytes(base) + ENVELOPE_SLACK
  let n = 0
  for (const item of items) {
    if (n >= max) break
    size += bytesOf(item)
    if (size > budget) break
    n++
  }
  return n
}
