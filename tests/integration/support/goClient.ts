/**
 * A line-by-line port of the Go client in seed 001 (`streamSSE`), so the tests read the streams
 * exactly as that client would. It uses a raw `http.get` (no fetch, no EventSource) and keeps the
 * Go code's behaviour, quirks included:
 *
 *   - `bufio.Scanner` splits lines on "\n" and drops one trailing "\r"; a line of 64 KiB or more
 *     (`bufio.MaxScanTokenSize`) stops the scan with "bufio.Scanner: token too long";
 *   - a field is recognised only as "<name>: <value>" (`strings.SplitN(line, ": ", 2)`); anything
 *     else, comments (": heartbeat") and `retry:` included, is skipped;
 *   - only `id`, `event` and `data` are kept; a second `data:` line replaces the first;
 *   - a blank line dispatches the event only when its `event:` was set, then starts a new one.
 *
 * The seed's client sets only `Accept` and `Cache-Control`, so authentication goes in the URL
 * (`?token=`), which NodePulse accepts for streams.
 */
import http from 'node:http'

/** `type SSEEvent struct { ID string; Type string; Data json.RawMessage }` */
export interface SSEEvent {
  ID: string
  Type: string
  /** The raw JSON text (`json.RawMessage`). */
  Data: string
}

/** bufio.MaxScanTokenSize */
export const MAX_SCAN_TOKEN_SIZE = 64 * 1024

/**
 * `func streamSSE(ctx context.Context, url string, handler func(SSEEvent)) error`: resolves when
 * the server ends the stream (`scanner.Err()` is nil), rejects with the error Go would return.
 * Aborting `signal` is cancelling `ctx`.
 */
export function streamSSE(signal: AbortSignal, url: string, handler: (event: SSEEvent) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
    // req.Header.Set("Accept", "text/event-stream"); req.Header.Set("Cache-Control", "no-cache")
    const req = http.get(url, { headers: { 'Accept': 'text/event-stream', 'Cache-Control': 'no-cache' }, signal }, (resp) => {
      // if resp.StatusCode != http.StatusOK { return fmt.Errorf("unexpected status: %d", resp.StatusCode) }
      if (resp.statusCode !== 200) {
        resp.resume()
        reject(new Error(`unexpected status: ${resp.statusCode}`))
        return
      }

      // scanner := bufio.NewScanner(resp.Body); var event SSEEvent
      let buffered: Buffer = Buffer.alloc(0)
      let event: SSEEvent = { ID: '', Type: '', Data: '' }
      let failed = false

      // The body of `for scanner.Scan() { line := scanner.Text() ... }`.
      const scanned = (line: string) => {
        if (line === '') {
          // Event complete
          if (event.Type !== '') handler(event)
          event = { ID: '', Type: '', Data: '' }
          return
        }
        // parts := strings.SplitN(line, ": ", 2); if len(parts) != 2 { continue }
        const at = line.indexOf(': ')
        if (at === -1) return
        const field = line.slice(0, at)
        const value = line.slice(at + 2)
        switch (field) {
          case 'id':
            event.ID = value
            break
          case 'event':
            event.Type = value
            break
          case 'data':
            event.Data = value
            break
        }
      }

      // bufio.ScanLines: a token is a line without its "\n" and with one trailing "\r" dropped.
      const dropCR = (b: Buffer) => (b.length > 0 && b[b.length - 1] === 0x0d ? b.subarray(0, b.length - 1) : b)

      resp.on('data', (chunk: Buffer) => {
        if (failed) return
        buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk
        let nl: number
        while ((nl = buffered.indexOf(0x0a)) !== -1) {
          // The scanner's buffer must hold the line and its "\n": at most MaxScanTokenSize bytes.
          if (nl + 1 > MAX_SCAN_TOKEN_SIZE) break
          scanned(dropCR(buffered.subarray(0, nl)).toString('utf8'))
          buffered = buffered.subarray(nl + 1)
        }
        if (buffered.length >= MAX_SCAN_TOKEN_SIZE) {
          // return scanner.Err() → bufio.ErrTooLong; the deferred resp.Body.Close() hangs up.
          failed = true
          req.destroy()
          reject(new Error('bufio.Scanner: token too long'))
        }
      })
      resp.on('end', () => {
        if (failed) return
        // At EOF ScanLines returns a final line that has no "\n".
        if (buffered.length) scanned(dropCR(buffered).toString('utf8'))
        resolve()
      })
      resp.on('error', (error) => {
        if (!failed) reject(signal.aborted ? new Error('context canceled') : error)
      })
    })
    req.on('error', error => reject(signal.aborted ? new Error('context canceled') : error))
  })
}
