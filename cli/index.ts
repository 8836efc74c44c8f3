/**
 * `nodepulse`: the NodePulse command line. Bundled into one file (scripts/build-agent.mjs) that
 * the server serves at /agent/nodepulse-agent.mjs; run without a command it is the agent.
 * `nodepulse top` shows the cluster's nodes live from a server's stream.
 */
import { defineCommand, runMain } from 'citty'
import { AGENT_VERSION } from './version'

const main = defineCommand({
  meta: { name: 'nodepulse', version: AGENT_VERSION, description: 'NodePulse command line' },
  // Loaded when run: the agent never loads `top`'s modules (node:https, tls, crypto, readline), nor `top` the agent's.
  subCommands: {
    agent: () => import('./agent/command').then(m => m.default),
    top: () => import('./top/command').then(m => m.default),
  },
})

// The served file runs as `node nodepulse-agent.mjs --server …`: flags without a command mean the agent.
const args = process.argv.slice(2)
const rawArgs = args[0]?.startsWith('--') && !['--help', '--version'].includes(args[0]) ? ['agent', ...args] : args
void runMain(main, { rawArgs })
