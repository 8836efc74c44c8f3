import { UnavailableError } from './errors'

let startup: Promise<unknown> | undefined

/** Records the back end's start-up (the Nitro plugin calls it once); `use()` of every instance waits for it. */
export function setStartup(promise: Promise<unknown>): void {
  startup = promise
  promise.catch(() => {})
}

/**
 * A service instance that start-up creates and routes use: `use()` waits for start-up to finish,
 * and answers 503 while there is no instance (start-up failed, or the server is stopping). Each
 * service module keeps its own, so a route's import line names the service it calls.
 */
export function startedInstance<T>() {
  let value: T | undefined
  return {
    /** Sets (or, with undefined, clears) the running instance. */
    set(next: T | undefined): void {
      value = next
    },
    /** The running instance. */
    async use(): Promise<T> {
      if (value !== undefined) return value
      await startup?.catch(() => {})
      if (value === undefined) throw new UnavailableError('NodePulse is starting up or its database is unavailable; try again shortly')
      return value
    },
  }
}
