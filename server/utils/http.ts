import type { H3Event } from 'h3'
import type { z } from 'zod'
import { streamOwner } from '../services/auth/streamTokens'
import { tooManyStreams, useHub } from '../services/streams/hub'
import { unstorable } from './unstorable'

/** "field.path: message; …" for a failed zod parse, naming every bad field. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.slice(0, 10).map(i => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ')
}

/** Parses a value with a schema or throws `statusCode` naming the bad fields. */
export function parseOr<S extends z.ZodType>(schema: S, value: unknown, statusCode: number, what: string): z.output<S> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  throw createError({
    statusCode,
    message: `Invalid ${what}: ${describeIssues(result.error)}`,
    data: { issues: result.error.issues.map(i => ({ path: i.path.join('.'), message: i.message })) },
  })
}

/** Route params validated by a schema (400 naming the bad param). */
export function readParams<S extends z.ZodType>(event: H3Event, schema: S): z.output<S> {
  return parseOr(schema, getRouterParams(event, { decode: true }), 400, 'path parameter')
}

/** Query validated by a schema (400 naming the bad parameter). */
export function readQueryAs<S extends z.ZodType>(event: H3Event, schema: S): z.output<S> {
  const query = getQuery(event)
  const bad = unstorable(query)
  if (bad) throw createError({ statusCode: 400, message: `Invalid query parameter: ${bad.path}: ${bad.message}`, data: { issues: [bad] } })
  return parseOr(schema, query, 400, 'query parameter')
}

/** Reads a request body of at most `maxBytes`; past it rejects with 413 and discards the rest without keeping it. */
function readBody(event: H3Event, maxBytes: number): Promise<Buffer> {
  const req = event.node.req
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const done = (error?: Error) => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      if (error) reject(error)
      else resolve(Buffer.concat(chunks))
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= maxBytes) return void chunks.push(chunk)
      // Answer now, and let the rest of the body flow away unread; the connection closes after the answer.
      // (Throwing inside a `for await` over the request destroyed it under Nitro's idle-socket tracking.)
      chunks.length = 0
      setResponseHeader(event, 'connection', 'close')
      req.resume()
      done(createError({ statusCode: 413, message: `Request body is larger than ${maxBytes} bytes` }))
    }
    const onEnd = () => done()
    const onError = (error: Error) => done(createError({ statusCode: 400, message: `The request body could not be read: ${error.message}` }))
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
  })
}

/**
 * Reads a JSON body of at most `maxBytes` (413 past it, counted as it streams, so a lying
 * Content-Length cannot get more through), 400 for malformed JSON, 422 naming each bad field
 * (NUL characters and nesting past MAX_JSON_DEPTH included, before any contract sees the value).
 * `check`, where given, is a faster validator of exactly `schema`'s contract (undefined for a
 * refusal): what it accepts is returned, what it refuses goes to `schema` for the 422's message.
 */
export async function readJson<S extends z.ZodType>(event: H3Event, schema: S, maxBytes = 16 * 1024, check?: (value: unknown) => z.output<S> | undefined): Promise<z.output<S>> {
  const declared = Number(getRequestHeader(event, 'content-length') ?? 0)
  if (declared > maxBytes) throw createError({ statusCode: 413, message: `Request body is larger than ${maxBytes} bytes` })
  const text = (await readBody(event, maxBytes)).toString('utf8')
  if (!text.trim()) throw createError({ statusCode: 400, message: 'Request body is empty: send a JSON object' })
  let value: unknown
  try {
    value = JSON.parse(text)
  }
  catch (error) {
    throw createError({ statusCode: 400, message: `Malformed JSON: ${(error as Error).message}` })
  }
  const bad = unstorable(value)
  if (bad) {
    throw createError({ statusCode: 422, message: `Invalid body: ${bad.path ? `${bad.path}: ` : ''}${bad.message}`, data: { issues: [bad] } })
  }
  const checked = check?.(value)
  return checked === undefined ? parseOr(schema, value, 422, 'body') : checked
}

/**
 * Before a stream starts: 503 with Retry-After when the hub is at NODEPULSE_SSE_MAX_CLIENTS, 429
 * when the caller's user (or token) already holds NODEPULSE_SSE_MAX_CLIENTS_PER_USER streams.
 */
export async function assertStreamCapacity(event: H3Event): Promise<void> {
  const hub = await useHub()
  if (!hub.hasCapacity()) {
    setResponseHeader(event, 'retry-after', 10)
    throw createError({ statusCode: 503, message: 'Too many stream clients are connected (NODEPULSE_SSE_MAX_CLIENTS); try again later' })
  }
  const principal = event.context.principal
  if (principal && !hub.ownerHasCapacity(streamOwner(principal))) throw tooManyStreams()
}
