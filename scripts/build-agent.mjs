#!/usr/bin/env node
/**
 * Bundles the agent (cli/index.ts, systeminformation and citty included) into one ESM file,
 * dist/agent/nodepulse-agent.mjs, that runs under plain `node` ≥ 18 with no node_modules; copies
 * the POSIX shell agent (cli/shell/nodepulse-agent.sh) beside it when there is one. nuxt.config.ts
 * runs it before every Nitro build, so the server always serves the agent of its own version.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
export const AGENT_DIST = join(root, 'dist', 'agent')

/**
 * Node built-ins as `require()` (the banner gives the bundle one) instead of ESM imports: esbuild
 * hoists an ESM import of an external to the top of the bundle, so every built-in any command uses
 * (node:https, tls and crypto for `top`, node:crypto for --listen) would load into every agent. As a
 * require it runs where its module is first evaluated, and a module imported with `import()` (the
 * commands, --listen) is evaluated only when it is (BENCHMARKS.md, "Agent footprint").
 */
const lazyBuiltins = {
  name: 'lazy-node-builtins',
  setup(b) {
    // The shim's own require() is the real built-in (external), not the shim again.
    b.onResolve({ filter: /^node:(https|tls|crypto|readline)$/ }, a => (a.namespace === 'node-builtin' ? { path: a.path, external: true } : { path: a.path, namespace: 'node-builtin' }))
    b.onLoad({ filter: /.*/, namespace: 'node-builtin' }, a => ({ contents: `module.exports = require(${JSON.stringify(a.path)})`, loader: 'js' }))
  },
}

/** Builds dist/agent/; returns the files written. */
export async function buildAgent({ quiet = false } = {}) {
  const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'))
  await mkdir(AGENT_DIST, { recursive: true })
  const outfile = join(AGENT_DIST, 'nodepulse-agent.mjs')
  await build({
    entryPoints: [join(root, 'cli', 'index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node18',
    minify: true,
    legalComments: 'none',
    banner: {
      // systeminformation is CommonJS: give the ESM bundle a require() for its Node built-ins.
      js: '#!/usr/bin/env node\nimport { createRequire as __npCreateRequire } from "node:module"; const require = __npCreateRequire(import.meta.url);',
    },
    define: { __NODEPULSE_VERSION__: JSON.stringify(version) },
    logLevel: quiet ? 'warning' : 'info',
    plugins: [lazyBuiltins],
  })
  const files = [outfile]
  const shell = join(root, 'cli', 'shell', 'nodepulse-agent.sh')
  const shellOut = join(AGENT_DIST, 'nodepulse-agent.sh')
  if (existsSync(shell)) {
    // The served script says the version of the server that serves it, like the bundle.
    const script = await readFile(shell, 'utf8')
    const stamped = script.replace(/^NODEPULSE_AGENT_VERSION=.*$/m, `NODEPULSE_AGENT_VERSION=${version}`)
    if (stamped === script && !script.includes(`NODEPULSE_AGENT_VERSION=${version}`)) throw new Error(`${shell} has no NODEPULSE_AGENT_VERSION= line to stamp`)
    await writeFile(shellOut, stamped, { mode: 0o755 })
    files.push(shellOut)
  }
  else await rm(shellOut, { force: true })
  return files
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = await buildAgent()
  console.log(`agent built: ${files.map(f => f.slice(root.length + 1)).join(', ')}`)
}
