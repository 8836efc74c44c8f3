/**
 * A Server-Sent Events parser (the WHATWG event-stream format): lines may end in LF, CRLF or CR
 * and be split anywhere across chunks; `data:` lines join with '\n'; `:` lines are comments
 * (heartbeats); the last `id:` is kept across messages and reconnects for Last-Event-ID.
 */

/** One dispatched message. */
export interface SseMessage {
  /** The `data:` lines joined with '\n'. */
  data: string
  /** `event:`, or 'message' when the message names none. */
  event: string
  /** The last event id seen so far ('' when the stream has given none). */
  lastEventId: string
}

export interface SseParser {
  /** Feeds decoded text; calls back for every message completed by it. */
  feed: (text: string) => void
  /** Forgets a half-read message (a new connection); the last event id stays. */
  reset: () => void
  /** The last `id:` the stream gave ('' for none). */
  readonly lastEventId: string
}

export interface SseHandlers {
  onMessage: (message: SseMessage) => void
  /** A `retry:` field: the server's reconnection delay in milliseconds. */
  onRetry?: (ms: number) => void
  /** A comment line (the server's heartbeat), without its ':'. */
  onComment?: (text: string) => void
}

/** A line longer than this is not an event stream we can use: the connection is dropped. */
export const MAX_SSE_LINE = 32 * 1024 * 1024

/** Thrown by `feed` when a line passes {@link MAX_SSE_LINE}. */
export class SseLineTooLongError extends Error {}

/** A parser for one stream (it keeps the last event id over reconnects). */
export function createSseParser(handlers: SseHandlers, maxLine = MAX_SSE_LINE): SseParser {
  let buffer = ''
  let data: string[] = []
  let event = ''
  let lastEventId = ''
  // The previous chunk ended in CR: an LF opening this one belongs to that line end.
  let skipLF = false
  let start = true

  function line(text: string): void {
    if (text === '') {
      if (data.length) handlers.onMessage({ data: data.join('\n'), event: event || 'message', lastEventId })
      data = []
      event = ''
      return
    }
    if (text.startsWith(':')) return handlers.onComment?.(text.slice(1).replace(/^ /, ''))
    const colon = text.indexOf(':')
    const field = colon === -1 ? text : text.slice(0, colon)
    const value = colon === -1 ? '' : text.slice(colon + 1).replace(/^ /, '')
    if (field === 'data') data.push(value)
    else if (field === 'event') event = value
    else if (field === 'id' && !value.includes('\0')) lastEventId = value
    else if (field === 'retry' && /^\d+$/.test(value)) handlers.onRetry?.(Number(value))
  }

  const LINE_END = /\r\n|\r|\n/g
  return {
    feed(text) {
      if (start) {
        text = text.replace(/^\uFEFF/, '')
        start = text === ''
      }
      if (skipLF && text.startsWith('\n')) text = text.slice(1)
      skipLF = false
      buffer += text
      let from = 0
      LINE_END.lastIndex = 0
      for (let m = LINE_END.exec(buffer); m; m = LINE_END.exec(buffer)) {
        // A CR at the very end may be the first half of a CRLF split across chunks.
        if (m[0] === '\r' && m.index === buffer.length - 1) skipLF = true
        line(buffer.slice(from, m.index))
        from = m.index + m[0].length
      }
      buffer = buffer.slice(from)
      if (buffer.length > maxLine) {
        buffer = ''
        throw new SseLineTooLongError(`a stream line passed ${maxLine} characters`)
      }
    },
    reset() {
      buffer = ''
      data = []
      event = ''
      skipLF = false
      start = true
    },
    get lastEventId() {
      return lastEventId
    },
  }
}
