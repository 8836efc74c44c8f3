/** The POSIX shell agent, for Linux hosts without Node. GET and HEAD (so no method in the file name), no login: hosts fetch it. */
export default defineEventHandler(event => serveAgentFile(event, 'nodepulse-agent.sh', 'This server was built without the shell agent (cli/shell/nodepulse-agent.sh); use the Node.js agent at /agent/nodepulse-agent.mjs'))
