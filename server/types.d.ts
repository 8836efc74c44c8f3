import type { Principal } from './services/auth/principal'

declare module 'h3' {
  interface H3EventContext {
    /** The authenticated caller, set by server/middleware/auth.ts. */
    principal?: Principal
  }
}

export {}
