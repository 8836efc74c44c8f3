#!/usr/bin/env node
// `npm start`: builds the app when the build is missing or older than the sources, then serves it.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { SERVER_ENV, SERVER_NODE_ARGS } from './server-settings.mjs'

const root = new URL('..', import.meta.url).pathname
const entry = join(root, '.output/server/index.mjs')
const SOURCES = ['app.vue', 'nuxt.config.ts', 'package.json', 'tailwind.config.ts', 'assets', 'components', 'composables', 'drizzle', 'layouts', 'middleware', 'pages', 'plugins', 'public', 'server', 'shared', 'stores', 'utils']

function newestMtime(path) {
  if (!existsSync(path)) return 0
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return readdirSync(path).reduce((max, name) => Math.max(max, newestMtime(join(path, name))), stat.mtimeMs)
}

const builtAt = existsSync(entry) ? statSync(entry).mtimeMs : 0
const changedAt = Math.max(...SOURCES.map(s => newestMtime(join(root, s))))
if (builtAt < changedAt || process.argv.includes('--build')) {
  console.log(builtAt ? '[nodepulse] sources changed since the last build: building…' : '[nodepulse] first start: building the app (about 20 s)…')
  const build = spawnSync('npx', ['nuxi', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
  if (build.status !== 0) {
    console.error('[nodepulse] the build failed; see the messages above')
    process.exit(build.status ?? 1)
  }
}

// The server takes NITRO_PORT over PORT (Nitro's order); say the port it will really use.
const port = process.env.NITRO_PORT || process.env.PORT || '3000'
console.log(`[nodepulse] starting on http://localhost:${port} (Ctrl+C stops it)`)
const server = spawn(process.execPath, [...SERVER_NODE_ARGS, entry], { cwd: root, stdio: 'inherit', env: { ...SERVER_ENV, ...process.env, PORT: port } })
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal))
server.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)))
