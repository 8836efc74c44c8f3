import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { runAgentCommand } from '../../cli/agent/command'
import { TOKEN_PLACEHOLDER as CLI_PLACEHOLDER } from '../../cli/agent/settings'
import { TOKEN_PLACEHOLDER } from '../../utils/agentInstall'

// A stand-in server: the token 'good' for node 1, anything else refused; node 9 unknown.
let server: Server
let url = ''
const posts: string[] = []
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      posts.push(`${req.method} ${req.url}`)
      const status = req.url?.startsWith('/api/v1/nodes/9/') ? 404 : req.headers.authorization === 'Bearer good' ? 200 : 401
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: status, message: status === 200 ? 'ok' : 'no' }))
    })
  }).listen(0, '127.0.0.1')
  await once(server, 'listening')
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})
afterAll(() => new Promise<void>(resolve => server.close(() => resolve())))

async function install(token: string, nodeId = '1', server = url) {
  const root = mkdtempSync(join(tmpdir(), 'np-cmd-'))
  const lines: string[] = []
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk))
    return true
  })
  try {
    const code = await runAgentCommand({ 'install-service': true, 'root': root }, ['--install-service', '--root', root], { NODEPULSE_SERVER: server, NODEPULSE_NODE_ID: nodeId, NODEPULSE_TOKEN: token })
    return { code, output: lines.join(''), written: readdirSync(root) }
  }
  finally {
    spy.mockRestore()
  }
}

describe('--install-service checks the token first', () => {
  it('refuses a token the server refuses (exit 2) and an unknown node (exit 3), writing nothing', async () => {
    posts.length = 0
    const bad = await install('wrong')
    expect(bad.code, bad.output).toBe(2)
    expect(bad.output).toMatch(/not installed: the server refused the token \(401/)
    expect(bad.written).toEqual([])
    expect(posts).toEqual(['POST /api/v1/nodes/1/stats'])
    const unknown = await install('good', '9')
    expect(unknown.code, unknown.output).toBe(3)
    expect(unknown.output).toMatch(/not installed: the server has no node 9/)
    expect(unknown.written).toEqual([])
  })

  it('refuses the Nodes page\'s placeholder without asking the server', async () => {
    expect(CLI_PLACEHOLDER).toBe(TOKEN_PLACEHOLDER)
    posts.length = 0
    const r = await install(TOKEN_PLACEHOLDER)
    expect(r.code, r.output).toBe(2)
    expect(r.output).toContain('placeholder')
    expect(r.written).toEqual([])
    expect(posts).toEqual([])
  })

  it('goes on with a warning when the server is unreachable (the service spools)', async () => {
    const r = await install('good', '1', 'http://127.0.0.1:1')
    expect(r.output).toMatch(/could not check the token, the server is unreachable .*installing anyway/)
    // (Run from source, the install then stops at the agent file: it copies the .mjs it runs from.)
    expect(r.output).toContain('is not one')
  })

  it('goes on when the token is accepted', async () => {
    posts.length = 0
    const r = await install('good')
    expect(posts).toEqual(['POST /api/v1/nodes/1/stats'])
    expect(r.output).not.toMatch(/not installed|could not check/)
    expect(r.output).toContain('is not one')
  })
})
