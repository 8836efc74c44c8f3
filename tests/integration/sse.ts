/**
 * A small SSE client for the integration tests: opens a stream with fetch, parses every message
 * (comments included) as the EventSource spec does, and lets a test wait for the next one.
 */
import { server, type Auth } from './helpers'

export interface SseMessage {
  event?: string
  id?: string
  retry?: number
  data?: string
  /** Comment lines (": heartbeat"). */
  comment?: string
  receivedAt: number
}

export interface SseStream {
  status: number
  headers: Headers
  messages: SseMessage[]
  /** Resolves with the next message (from index `from`) that `match` accepts. */
  next: (match?: (m: SseMessage) => boolean, timeoutMs?: number) => Promise<SseMessage>
  /** JSON of every data message received so far. */
  data: <T = unknown>() => T[]
  /** Resolves when the server ends the stream. */
  ended: Promise<void>
  close: () => void
}

/** Opens `path` as an event stream (status and body are available even for an error answer). */
export async function openStream(path: string, auth?: Auth, headers: Record<string, string> = {}, baseURL = server.baseURL): Promise<SseStream> {
  const controller = new AbortController()
  const h: Record<string, string> = { accept: 'text/event-stream', ...headers }
  if (auth && 'cookie' in auth) h.cookie = auth.cookie
  if (auth && 'bearer' in auth) h.authorization = `Bearer ${auth.bearer}`
  const res = await fetch(`${baseURL}${path}`, { headers: h, signal: controller.signal })
  const messages: SseMessage[] = []
  const waiters: (() => void)[] = []
  let cursor = 0
  const notify = () => waiters.splice(0).forEach(w => w())

  const ended = (async () => {
    if (!res.body) return
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true })
        let end: number
        while ((end = buffer.search(/\r?\n\r?\n/)) !== -1) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '')
          const m: SseMessage = { receivedAt: Date.now() }
          for (const line of block.split(/\r?\n/)) {
            if (line.startsWith(':')) m.comment = line.slice(1).trim()
            else {
              const i = line.indexOf(':')
              const field = i === -1 ? line : line.slice(0, i)
              const value = i === -1 ? '' : line.slice(i + 1).replace(/^ /, '')
              if (field === 'data') m.data = m.data === undefined ? value : `${m.data}\n${value}`
              else if (field === 'event') m.event = value
              else if (field === 'id') m.id = value
              else if (field === 'retry') m.retry = Number(value)
            }
          }
          messages.push(m)
          notify()
        }
      }
    }
    catch {
      // aborted by close()
    }
    notify()
  })()

  let done = false
  void ended.then(() => {
    done = true
  })

  return {
    status: res.status,
    headers: res.headers,
    messages,
    ended,
    data: <T>() => messages.filter(m => m.data !== undefined).map(m => JSON.parse(m.data!) as T),
    close: () => controller.abort(),
    async next(match = m => m.data !== undefined, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        while (cursor < messages.length) {
          const m = messages[cursor++]!
          if (match(m)) return m
        }
        if (done) throw new Error('the stream ended before the expected message')
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`no matching message within ${timeoutMs} ms (got ${messages.length})`)
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left)
          waiters.push(() => {
            clearTimeout(t)
            resolve()
          })
        })
      }
    },
  }
}

/** Parses a data message as JSON. */
export const json = <T>(m: SseMessage): T => JSON.parse(m.data!) as T
