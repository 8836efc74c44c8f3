/**
 * Failures a caller can act on. Services throw these; `server/error.ts` answers each with its
 * status and message, so no route translates errors itself.
 */
export class DomainError extends Error {
  constructor(message: string, readonly statusCode: number, readonly retryAfterSeconds?: number) {
    super(message)
    this.name = new.target.name
  }
}

/** 404: the thing asked for does not exist (or no longer does). */
export class NotFoundError extends DomainError {
  constructor(message: string) {
    super(message, 404)
  }
}

/** 409: the request clashes with the current state (a taken name, the last admin, the master node). */
export class ConflictError extends DomainError {
  constructor(message: string) {
    super(message, 409)
  }
}

/** 422 naming a field whose value does not fit what is stored (an unknown node, an end before the start). */
export class InvalidFieldError extends DomainError {
  constructor(field: string, message: string) {
    super(`Invalid body: ${field}: ${message}`, 422)
  }
}

/** 503 with Retry-After: a temporary failure the caller should retry. */
export class UnavailableError extends DomainError {
  constructor(message: string, retryAfterSeconds = 5) {
    super(message, 503, retryAfterSeconds)
  }
}

/** 500 with a message safe to show: a system NodePulse watches failed in a way retrying will not fix (the seed 004 contract's "failure"). */
export class BackendError extends DomainError {
  constructor(message: string) {
    super(message, 500)
  }
}

// Node's socket errors, postgres.js's own, and Postgres's connection exceptions (class 08) and
// shutdown/start-up states (57P01–57P03).
const UNREACHABLE = /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|CONNECTION_(CLOSED|ENDED|DESTROYED)|CONNECT_TIMEOUT|08...|57P0[123])$/

/** Whether an error (or one it was caused by) says the database cannot be reached, rather than that it refused a query. */
export function isDatabaseUnreachable(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && UNREACHABLE.test(code)) return true
  }
  return false
}

/** 422: a body that parsed but does not fit what it changes (a channel's settings merged with a PATCH's). */
export class InvalidInputError extends DomainError {
  constructor(message: string) {
    super(message, 422)
  }
}
