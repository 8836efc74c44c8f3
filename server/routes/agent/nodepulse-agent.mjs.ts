/** The Node.js agent as one file (no node_modules needed): `node nodepulse-agent.mjs --server … --node-id …`. GET and HEAD (so no method in the file name), no login: hosts fetch it. */
export default defineEventHandler(event => serveAgentFile(event, 'nodepulse-agent.mjs', 'The Node.js agent is missing from this build: rebuild the server (nuxi build runs scripts/build-agent.mjs)'))
