// Set by scripts/build-agent.mjs (esbuild `define`); a run from source says "dev".
declare const __NODEPULSE_VERSION__: string | undefined

/** The agent's version: package.json's at build time. */
export const AGENT_VERSION: string = typeof __NODEPULSE_VERSION__ === 'string' ? __NODEPULSE_VERSION__ : 'dev'
