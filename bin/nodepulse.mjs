#!/usr/bin/env node
// `nodepulse` in this repository: runs the built CLI bundle (dist/agent/nodepulse-agent.mjs, the
// same file the server serves), building it first when it is missing (npm run build:agent rebuilds it).
import { existsSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'

const bundle = fileURLToPath(new URL('../dist/agent/nodepulse-agent.mjs', import.meta.url))
if (!existsSync(bundle)) {
  const { buildAgent } = await import('../scripts/build-agent.mjs')
  await buildAgent({ quiet: true })
}
await import(pathToFileURL(bundle).href)
