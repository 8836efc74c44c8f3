import type { H3Event } from 'h3'
import type { z } from 'zod'
import { useHub } from '../services/streams/hub'

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
  return parseOr(schema, getQuery(event), 400, 'query parameter')
}

/**
 * Reads a JSON body of at most `maxBytes` (413 past it, counted as it streams, so a lying
 * Content-Length cannot get more through), 400 for malformed JSON, 422 naming each bad field.
 */
export async function readJson<S extends z.ZodType>(event: H3Event, schema: S, maxBytes = 16 * 1024): Promise<z.output<S>> {
  const tooLarge = () => createError({ statusCode: 413, message: `Request body is larger than ${maxBytes} bytes` })
  const declared = Number(getRequestHeader(event, 'content-length') ?? 0)
  if (declared > maxBytes) throw tooLarge()
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of event.node.req) {
    size += (chunk as Buffer).length
    if (size > maxBytes) throw tooLarge()
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (!text.trim()) throw createError({ statusCode: 400, message: 'Request body is empty: send a JSON object' })
  let value: unknown
  try {
    value = JSON.parse(text)
  }
  catch (error) {
    throw createError({ statusCode: 400, message: `Malformed JSON: ${(error as Error).message}` })
  }
  return parseOr(schema, value, 422, 'body')
}

/** 503 with Retry-After when the hub is at NODEPULSE_SSE_MAX_CLIENTS, before a stream starts. */
export async function assertStreamCapacity(event: H3Event): Promise<void> {
  if ((await useHub()).hasCapacity()) return
  setResponseHeader(event, 'retry-after', 10)
  throw createError({ statusCode: 503, message: 'Too many stream clients are connected (NODEPULSE_SSE_MAX_CLIENTS); try again later' })
}
