/** One field problem from a 422 answer. */
export interface ApiIssue { path: string, message: string }

/** What the page shows for a failed API call. */
export interface ApiError { status: number | undefined, message: string, issues: ApiIssue[] }

interface ErrorBody { message?: unknown, data?: { issues?: unknown } }

function isIssue(value: unknown): value is ApiIssue {
  return typeof value === 'object' && value !== null
    && typeof (value as ApiIssue).path === 'string' && typeof (value as ApiIssue).message === 'string'
}

/**
 * Turns a `$fetch` failure into the server's own message (every NodePulse error body has one),
 * or a message about the connection when no answer came back at all.
 */
export function toApiError(error: unknown): ApiError {
  const e = error as { statusCode?: number, data?: ErrorBody } | null
  const status = e?.statusCode
  const body = e?.data
  if (!status) {
    return { status, message: 'Could not reach the NodePulse server; check that it is running and try again.', issues: [] }
  }
  const message = typeof body?.message === 'string' && body.message ? body.message : `The server answered ${status}; try again.`
  const rawIssues = body?.data?.issues
  const issues = Array.isArray(rawIssues) ? rawIssues.filter(isIssue) : []
  return { status, message, issues }
}

/** Whether a 422 answer names this field (for aria-invalid). */
export function hasIssue(error: ApiError | null, field: string): boolean {
  return Boolean(error?.issues.some(i => i.path === field || i.path.startsWith(`${field}.`)))
}

/** The message of the 422 issue that names this field (or a part of it), or null. */
export function issueMessage(error: ApiError | null, field: string): string | null {
  return error?.issues.find(i => i.path === field || i.path.startsWith(`${field}.`))?.message ?? null
}
