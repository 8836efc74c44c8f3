/**
 * The live view's terminal: the alternate screen with the cursor hidden, stdin in raw mode for
 * single keys, redraws in place. `close` gives the terminal back as it was; it runs once, also
 * from process 'exit', so a crash or a signal never leaves the terminal in raw mode.
 */
import { writeSync } from 'node:fs'

const CSI = '\u001B['
const ENTER = `${CSI}?1049h${CSI}?25l`
const LEAVE = `${CSI}0m${CSI}?25h${CSI}?1049l`

export interface Screen {
  draw: (lines: string[]) => void
  /** Columns and rows now. */
  size: () => { width: number, height: number }
  close: () => void
}

/** Takes over the terminal; `onKey` gets each key pressed, `onResize` each SIGWINCH. */
export function openScreen(out: NodeJS.WriteStream & { fd: number }, input: NodeJS.ReadStream, onKey: (key: string) => void, onResize: () => void): Screen {
  let closed = false
  const raw = input.isTTY === true
  const onData = (chunk: Buffer | string) => {
    const text = chunk.toString()
    // Arrow and function keys are escape sequences: none of them means anything here.
    if (text.startsWith('\u001B')) return
    for (const key of text) onKey(key)
  }
  function close(): void {
    if (closed) return
    closed = true
    process.off('exit', close)
    out.off('resize', onResize)
    input.off('data', onData)
    if (raw) input.setRawMode(false)
    input.pause()
    // Synchronous, so it happens even from the 'exit' event.
    writeSync(out.fd, LEAVE)
  }
  process.on('exit', close)
  writeSync(out.fd, ENTER)
  if (raw) input.setRawMode(true)
  input.on('data', onData)
  input.resume()
  out.on('resize', onResize)
  return {
    // Home, each line over the old one (erasing what is left of it), then clear below.
    draw: lines => closed || out.write(`${CSI}H${lines.map(l => `${l}${CSI}K`).join('\r\n')}${CSI}J`),
    size: () => ({ width: out.columns || 80, height: out.rows || 24 }),
    close,
  }
}
