// https://nuxt.com/docs/api/configuration/nuxt-config
import pkg from './package.json'
import { buildAgent } from './scripts/build-agent.mjs'
import { earlyScript } from './utils/earlyStream'

export default defineNuxtConfig({
  compatibilityDate: '2025-07-15',
  devtools: { enabled: false },
  telemetry: false,
  modules: ['@nuxtjs/tailwindcss', '@pinia/nuxt', '@nuxt/eslint'],
  app: {
    head: {
      title: 'NodePulse',
      htmlAttrs: { lang: 'en' },
      meta: [
        { name: 'viewport', content: 'width=device-width, initial-scale=1' },
        { name: 'color-scheme', content: 'light dark' },
        { name: 'referrer', content: 'no-referrer' },
      ],
      link: [{ rel: 'icon', type: 'image/svg+xml', href: '/favicon.svg' }],
      // Before any bundle loads: zod would compile schemas with `new Function`, which the pages'
      // CSP refuses (no 'unsafe-eval'); its probe for that alone is reported as a violation.
      // Then, on the dashboard, the session check and the live stream start before the bundles
      // have loaded (utils/earlyStream.ts; the CSP allows each inline script by its hash).
      script: [{ innerHTML: 'globalThis.__zod_globalConfig={jitless:true}' }, { innerHTML: earlyScript() }],
    },
  },
  // The dashboard is an authenticated app: no SEO, no server-rendered user data.
  ssr: false,
  tailwindcss: { viewer: false, cssPath: '~/assets/css/main.css' },
  eslint: { config: { stylistic: false } },
  typescript: { strict: true },
  runtimeConfig: { public: { version: pkg.version } },
  hooks: {
    // The server serves the agent of its own version: bundle it before Nitro packs dist/agent/ as assets.
    'nitro:build:before': async () => {
      await buildAgent({ quiet: true })
    },
    // Nearly every visit opens the dashboard: its page code is preloaded with the entry (modulepreload
    // links in the HTML) instead of being asked for only after the session check has answered.
    'build:manifest': (manifest) => {
      const entry = Object.values(manifest).find(chunk => chunk.isEntry)
      const dashboard = Object.keys(manifest).find(key => manifest[key]?.src === 'pages/index.vue')
      if (entry && dashboard) entry.imports = [...new Set([...(entry.imports ?? []), dashboard])]
    },
  },
  vite: {
    build: {
      rollupOptions: {
        // Small chunks with no side effects of their own are merged into chunks loaded with them:
        // a first visit asks a server that may be busy ingesting for 12 files instead of 32.
        // @ts-expect-error Rollup's option: Nuxt builds with Vite 7 on Rollup 4, but its config types resolve Vite 8's (Rolldown), which lack it.
        output: { experimentalMinChunkSize: 20_000 },
      },
    },
  },
  nitro: {
    errorHandler: '~/server/error',
    // Scripts and styles are stored gzip- and brotli-compressed at build time and served as such:
    // a first visit's ~30 chunks cost a fraction of the bytes and no compression work per request.
    compressPublicAssets: true,
    // Migrations ship inside the server bundle so the built app finds them from any cwd.
    serverAssets: [{ baseName: 'migrations', dir: '../drizzle' }, { baseName: 'agent', dir: '../dist/agent' }],
    routeRules: {
      // Pages also get a Content-Security-Policy with frame-ancestors 'none' (server/plugins/securityHeaders.ts).
      '/**': { headers: { 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY' } },
    },
  },
})
