import { describe, expect, it } from 'vitest'
import { createSseParser, SseLineTooLongError, type SseMessage } from '../../cli/top/sse'

/** Feeds `chunks` to a fresh parser; returns what it dispatched. */
function parse(chunks: string[]) {
  const messages: SseMessage[] = []
  const retries: number[] = []
  const comments: string[] = []
  const parser = createSseParser({ onMessage: m => messages.push(m), onRetry: ms => retries.push(ms), onComment: c => comments.push(c) })
  for (const c of chunks) parser.feed(c)
  return { messages, retries, comments, parser }
}

describe('SSE parser', () => {
  it('reads unnamed data messages, one per blank line', () => {
    const { messages } = parse(['data: {"a":1}\n\ndata: {"a":2}\n\n'])
    expect(messages.map(m => m.data)).toEqual(['{"a":1}', '{"a":2}'])
    expect(messages[0]).toEqual({ data: '{"a":1}', event: 'message', lastEventId: '' })
  })

  it('joins lines split anywhere across chunks, one character at a time too', () => {
    const text = 'event: tick\ndata: {"nodes":[1,2,3]}\n\n'
    const { messages } = parse([...text])
    expect(messages).toEqual([{ data: '{"nodes":[1,2,3]}', event: 'tick', lastEventId: '' }])
  })

  it('joins multi-line data with \\n and strips only one leading space', () => {
    const { messages } = parse(['data: first\ndata:second\ndata:  third\n\n'])
    expect(messages[0]!.data).toBe('first\nsecond\n third')
  })

  it('takes LF, CRLF and CR line ends, a CRLF split between chunks as one', () => {
    expect(parse(['data: a\r\n\r\ndata: b\r\rdata: c\n\n']).messages.map(m => m.data)).toEqual(['a', 'b', 'c'])
    // "\r" ends one chunk and "\n" opens the next: one line end, not an empty line between.
    const split = parse(['data: x\r', '\ndata: y\r', '\n\r', '\n'])
    expect(split.messages.map(m => m.data)).toEqual(['x\ny'])
  })

  it('passes comments (heartbeats) aside and dispatches nothing for them', () => {
    const { messages, comments } = parse([': heartbeat\n\n', ':\n\ndata: 1\n\n'])
    expect(comments).toEqual(['heartbeat', ''])
    expect(messages.map(m => m.data)).toEqual(['1'])
  })

  it('keeps the last id across messages and resets, ignoring ids with NUL', () => {
    const { messages, parser } = parse(['id: 7\ndata: a\n\ndata: b\n\nid: 8\0\ndata: c\n\n'])
    expect(messages.map(m => m.lastEventId)).toEqual(['7', '7', '7'])
    parser.feed('data: half')
    parser.reset()
    parser.feed('\n\n')
    expect(parser.lastEventId).toBe('7')
    expect(messages).toHaveLength(3)
  })

  it('reads retry: as milliseconds, only digits', () => {
    expect(parse(['retry: 2500\n\nretry: soon\n\n']).retries).toEqual([2500])
  })

  it('ignores unknown fields, a field without a colon, a message without data, and a BOM', () => {
    const { messages } = parse(['\uFEFFfoo: bar\ndata\n\nevent: x\n\ndata: y\n\n'])
    expect(messages.map(m => [m.event, m.data])).toEqual([['message', ''], ['message', 'y']])
  })

  it('does not dispatch a message the stream has not finished', () => {
    expect(parse(['data: {"partial":', 'true}\n']).messages).toEqual([])
  })

  it('refuses a line past its bound', () => {
    const parser = createSseParser({ onMessage: () => {} }, 16)
    expect(() => parser.feed(`data: ${'x'.repeat(20)}`)).toThrow(SseLineTooLongError)
  })
})
