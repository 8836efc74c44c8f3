/**
 * Errors as a log line may carry them. A failed query's message ends with its parameters
 * (drizzle's "Failed query: … params: …"), and those can be a new webhook secret, a token's hash
 * or a password hash: they are cut off here, and the error's own fields (a driver's `parameters`,
 * `query`) are not printed at all.
 */
export function describeError(error: unknown): string {
  const lines: string[] = []
  let current: unknown = error
  for (let depth = 0; current !== undefined && current !== null && depth < 4; depth++) {
    if (!(current instanceof Error)) {
      lines.push(depth ? `caused by: ${String(current)}` : String(current))
      break
    }
    const code = (current as { code?: unknown }).code
    const message = current.message.replace(/\n?params: [\s\S]*$/, '').trim()
    lines.push(`${depth ? 'caused by: ' : ''}${current.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${message}`)
    if (depth === 0) lines.push(...(current.stack ?? '').split('\n').filter(l => /^\s+at /.test(l)).slice(0, 8))
    current = current.cause
  }
  return lines.join('\n')
}
