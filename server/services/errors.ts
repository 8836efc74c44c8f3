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
