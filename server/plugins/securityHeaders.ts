import { createHash } from 'node:crypto'

// Inline scripts that run (not JSON data blocks): Nuxt's one-line runtime config is the only one.
const INLINE_SCRIPT = /<script(?![^>]*\ssrc=)(?![^>]*type="application\/json")[^>]*>([\s\S]*?)<\/script>/gi

/**
 * The Content-Security-Policy of a page: scripts only from this origin plus the page's own inline
 * scripts by hash (Nuxt writes its runtime config inline), no plugins, no framing, no foreign
 * connections. Styles allow inline ones: Vue binds `style` attributes.
 */
export function contentSecurityPolicy(html: string): string {
  const hashes = [...html.matchAll(INLINE_SCRIPT)].map(m => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`)
  return [
    `default-src 'self'`, `script-src 'self' ${hashes.join(' ')}`.trim(), `style-src 'self' 'unsafe-inline'`, `img-src 'self' data:`,
    `font-src 'self' data:`, `connect-src 'self'`, `object-src 'none'`, `base-uri 'self'`, `form-action 'self'`, `frame-ancestors 'none'`,
  ].join('; ')
}

/** Adds the CSP to every rendered page; the other security headers come from nuxt.config.ts's routeRules. */
export default defineNitroPlugin((nitroApp) => {
  if (import.meta.dev) return
  nitroApp.hooks.hook('render:response', (response) => {
    if (typeof response.body !== 'string') return
    response.headers = { ...response.headers, 'content-security-policy': contentSecurityPolicy(response.body) }
  })
})
