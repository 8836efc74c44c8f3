/**
 * `nodepulse`: the NodePulse command line. Bundled into one file (scripts/build-agent.mjs) that
 * the server serves at /agent/nodepulse-agent.mjs; run without a command it is the agent.
 * `nodepulse top` shows the cluster's nodes live from a server's stream.
 */
import { defineCommand, runMain } from 'citty'
import agent from './agent/command'
import top from './top/command'
import { AGENT_VERSION } from './version'

const main = defineCommand({
  meta: { name: 'nodepulse', version: AGENT_VERSION, description: 'NodePulse command line' },
  subCommands: { agent, top },
})

// The served file runs as `node nodepulse-agent.mjs --server …`: flags without a command mean the agent.
const args = process.argv.slice(2)
const rawArgs = args[0]?.startsWith('--') && !['--help', '--version'].includes(args[0]) ? ['agent', ...args] : args
void runMain(main, { rawArgs })
