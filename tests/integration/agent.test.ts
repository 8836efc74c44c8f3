/**
 * The built Node.js agent (dist/agent/nodepulse-agent.mjs) against the built server: --once and
 * its exit codes, live sending with host detail, an outage with the agent killed and restarted in
 * it, the spool's bound and a corrupt spool file, the systemd service under a temporary root, and
 * the file the server serves running with no node_modules.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { AgentVersionView, NodeWithDetail } from '../../shared/contracts/rest'
import { api, asAdmin, createAgent, server, type CreatedNode } from './helpers'
import { killAgents, runAgent, startAgent, startRecordingProxy, type RecordingProxy } from './support/agent'
import { sleep, startDedicated, until } from './support/dedicated'

const tmp = (label: string) => mkdtempSync(join(tmpdir(), `np-agent-${label}-`))
const envFor = (node: CreatedNode, url = server.baseURL, extra: Record<string, string> = {}) => ({
  NODEPULSE_SERVER: url, NODEPULSE_NODE_ID: String(node.id), NODEPULSE_TOKEN: node.token, NODEPULSE_SPOOL_DIR: tmp('spool'), ...extra,
})
/** Samples waiting in a spool directory (segments of one sample per line), by timestamp. */
const spooled = (dir: string): string[] => readdirSync(dir).filter(f => /^\d+\.jsonl$/.test(f)).sort()
  .flatMap(f => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean).map(l => (JSON.parse(l) as { timestamp: string }).timestamp))
const closedPort = 'http://127.0.0.1:1'
const detailOf = async (id: number) => (await api<NodeWithDetail>('GET', `/api/v1/nodes/${id}`, { auth: await asAdmin() })).body.detail

const proxies: RecordingProxy[] = []
const proxyTo = async (target: string) => {
  const p = await startRecordingProxy(target)
  proxies.push(p)
  return p
}

afterEach(async () => {
  await killAgents()
  await Promise.all(proxies.splice(0).map(p => p.close()))
})

describe('nodepulse agent --once', () => {
  it('sends one sample with host detail and exits 0', async () => {
    const node = await createAgent()
    const { code, output } = await runAgent(['--once'], envFor(node))
    expect(code, output).toBe(0)
    expect(output).toBe('')
    const detail = await detailOf(node.id)
    expect(detail?.memory?.total_bytes).toBeGreaterThan(0)
    expect(detail?.os?.platform).toBe('linux')
  })

  it('exits 2 for a wrong token and says so', async () => {
    const node = await createAgent()
    const { code, output } = await runAgent(['--once'], envFor(node, server.baseURL, { NODEPULSE_TOKEN: 'npn_wrong' }))
    expect(code, output).toBe(2)
    expect(output).toMatch(/refused the token \(401/)
  })

  it('exits 2 for another node\'s token and names that case', async () => {
    const [a, b] = [await createAgent(), await createAgent()]
    const { code, output } = await runAgent(['--once'], envFor(a, server.baseURL, { NODEPULSE_TOKEN: b.token }))
    expect(code, output).toBe(2)
    expect(output).toContain(`the token belongs to another node, not node ${a.id}`)
  })

  it('exits 3 for an unknown node', async () => {
    const node = await createAgent()
    const { code, output } = await runAgent(['--once'], envFor(node, server.baseURL, { NODEPULSE_NODE_ID: '2000000000' }))
    expect(code, output).toBe(3)
    expect(output).toContain('the server has no node 2000000000 (404')
  })

  it('exits 1 with the server down and keeps the sample in the spool, sent by the next run', async () => {
    const node = await createAgent()
    const env = envFor(node, closedPort)
    const down = await runAgent(['--once'], env)
    expect(down.code, down.output).toBe(1)
    expect(down.output).toMatch(/not sent: ECONNREFUSED.*spooled in/)
    const kept = spooled(env.NODEPULSE_SPOOL_DIR)
    expect(kept).toHaveLength(1)

    const proxy = await proxyTo(server.baseURL)
    const up = await runAgent(['--once'], { ...env, NODEPULSE_SERVER: proxy.url })
    expect(up.code, up.output).toBe(0)
    expect(proxy.reports.flatMap(r => r.timestamps)).toContain(kept[0])
    expect(spooled(env.NODEPULSE_SPOOL_DIR)).toEqual([])
  })

  it('refuses bad settings with a message and exit 1; warns that --token shows in ps', async () => {
    const bad = await runAgent(['--once', '--interval', 'fast'], { NODEPULSE_SERVER: server.baseURL, NODEPULSE_NODE_ID: '1', NODEPULSE_TOKEN: 'x' })
    expect(bad.code).toBe(1)
    expect(bad.output).toContain('--interval=fast is invalid')
    const node = await createAgent()
    const flag = await runAgent(['--once', '--token', node.token], { ...envFor(node), NODEPULSE_TOKEN: '' })
    expect(flag.code, flag.output).toBe(0)
    expect(flag.output).toMatch(/--token shows in `ps`.*NODEPULSE_TOKEN.*--token-file/)
  })
})

describe('nodepulse agent (running)', () => {
  it('sends every interval; the node shows the detail', async () => {
    const node = await createAgent()
    const proxy = await proxyTo(server.baseURL)
    const agent = startAgent(['--interval', '1'], envFor(node, proxy.url))
    await agent.waitFor('started')
    await until('three reports', () => proxy.reports.length >= 3, 15_000)
    const detail = await detailOf(node.id)
    expect(detail?.cpu_cores?.length).toBeGreaterThan(0)
    expect(detail?.disks?.length).toBeGreaterThan(0)
    expect(await agent.stop()).toBe(0)
    expect(agent.output()).toMatch(/stopped: \d+ samples taken this run, 0 waiting in the spool/)
    // One line per state change, none per sample.
    expect(agent.output().trim().split('\n')).toHaveLength(2)
  })

  it('a torn or corrupt spool line is set aside and the rest is sent', async () => {
    const node = await createAgent()
    const env = envFor(node, closedPort)
    expect((await runAgent(['--once'], env)).code).toBe(1)
    const good = spooled(env.NODEPULSE_SPOOL_DIR)
    // A crash cut a line short after a whole one.
    writeFileSync(join(env.NODEPULSE_SPOOL_DIR, '0000000000005.jsonl'), `{"cpu_percent":3,"disk_percent":1,"timestamp":"${new Date(Date.now() - 30_000).toISOString()}"}\n{"cpu_percent":3,"disk_perc`)
    const proxy = await proxyTo(server.baseURL)
    const agent = startAgent(['--interval', '1'], { ...env, NODEPULSE_SERVER: proxy.url })
    await agent.waitFor('spool drained')
    expect(agent.output()).toContain('spool file 0000000000005.jsonl was damaged: 1 line(s) moved aside as 0000000000005.corrupt')
    expect(proxy.reports.flatMap(r => r.timestamps)).toContain(good[0])
    expect(proxy.reports.flatMap(r => r.timestamps).length).toBeGreaterThanOrEqual(3)
    expect(readFileSync(join(env.NODEPULSE_SPOOL_DIR, '0000000000005.corrupt'), 'utf8')).toBe('{"cpu_percent":3,"disk_perc\n')
    expect(await agent.stop()).toBe(0)
  })

  it('keeps at most --spool-max samples, drops the oldest, and reports the count as an error_report', async () => {
    const node = await createAgent()
    const env = envFor(node, closedPort, { NODEPULSE_SPOOL_MAX: '3' })
    const offline = startAgent(['--interval', '1'], env)
    await offline.waitFor('dropping the oldest samples')
    await until('two drops', () => Number(readFileSync(join(env.NODEPULSE_SPOOL_DIR, 'dropped'), 'utf8')) >= 2, 10_000)
    await offline.stop()
    const dropped = Number(readFileSync(join(env.NODEPULSE_SPOOL_DIR, 'dropped'), 'utf8'))
    expect(spooled(env.NODEPULSE_SPOOL_DIR)).toHaveLength(3)

    const proxy = await proxyTo(server.baseURL)
    const back = await runAgent(['--once'], { ...env, NODEPULSE_SERVER: proxy.url })
    expect(back.code, back.output).toBe(0)
    expect(proxy.reports.flatMap(r => r.timestamps)).toHaveLength(4)
    expect(proxy.events).toEqual([expect.objectContaining({ event_type: 'error_report', data: expect.objectContaining({ dropped_samples: dropped, spool_max: 3 }) })])
    expect(back.output).toContain(`told the server that ${dropped} samples were dropped`)
  })
})

describe('an outage', () => {
  it('stores every sample once: server down ~10 s, the agent killed and restarted in it', async () => {
    const d = await startDedicated('agent-outage', {})
    try {
      const node = await d.createAgent()
      const proxy = await proxyTo(d.baseURL)
      const env = envFor(node, proxy.url)
      const first = startAgent(['--interval', '1'], env)
      await until('two reports before the outage', () => proxy.reports.length >= 2, 15_000)
      let before: string[] = []
      let atKill: string[] = []
      let second = first
      let killedAt = 0
      let restartedAt = 0
      await d.srv.restart(async () => {
        before = proxy.reports.flatMap(r => r.timestamps)
        await first.waitFor('server unreachable')
        await sleep(3000)
        killedAt = Date.now()
        await first.kill()
        atKill = spooled(env.NODEPULSE_SPOOL_DIR)
        restartedAt = Date.now()
        second = startAgent(['--interval', '1'], env)
        await second.waitFor('server unreachable')
        await sleep(5000)
      })
      await second.waitFor('spool drained', 30_000)
      expect(await second.stop()).toBe(0)
      // A live sample in flight when SIGTERM came is spooled (its request aborted): it waits in the
      // spool, whether or not the server stored it before the abort (a resend then stores nothing).
      const [, takenText, waitingText] = /stopped: (\d+) samples taken this run, (\d+) waiting/.exec(second.output())!
      const taken = Number(takenText)
      const left = spooled(env.NODEPULSE_SPOOL_DIR)
      expect(left).toHaveLength(Number(waitingText))

      const sent = proxy.reports.flatMap(r => r.timestamps)
      const unique = new Set(sent)
      const stored = proxy.reports.reduce((n, r) => n + r.stored, 0)
      // Each sample stored exactly once, whatever was sent twice.
      expect(stored).toBe(unique.size)
      expect(atKill.length, 'samples spooled by the first agent during the outage').toBeGreaterThanOrEqual(3)
      for (const ts of [...before, ...atKill]) expect(unique.has(ts), `${ts} stored`).toBe(true)
      // The second agent's own samples, all stored: produced == stored.
      const ofSecond = [...unique].filter(ts => !before.includes(ts) && !atKill.includes(ts) && ts > atKill.at(-1)!)
      expect(new Set([...ofSecond, ...left]).size, 'each sample the second agent took is stored or still spooled').toBe(taken)
      expect(ofSecond.length).toBeLessThanOrEqual(taken)
      expect(second.output()).toMatch(/server reachable again after \d+ s; sending \d+ spooled samples/)
      // Not circular: whatever either agent says it took or spooled, the stored timeline of the node
      // has no hole longer than 2.5 intervals but the one across the agent's own restart.
      const times = [...unique].map(ts => Date.parse(ts)).sort((a, b) => a - b)
      const holes = times.slice(1).map((t, i) => ({ from: times[i]!, to: t })).filter(h => h.to - h.from > 2_500)
      const acrossRestart = (h: { from: number, to: number }) => h.from <= killedAt + 500 && h.to >= restartedAt - 500
      expect(holes.filter(h => !acrossRestart(h)).map(h => `${new Date(h.from).toISOString()} → ${new Date(h.to).toISOString()}`), 'holes in the stored samples').toEqual([])
      expect(holes.length).toBeLessThanOrEqual(1)
    }
    finally {
      await killAgents()
      await d.stop()
    }
  }, 120_000)
})

describe('--install-service / --uninstall-service (under --root)', () => {
  it('writes the unit and a 0600 env file that alone holds the token; uninstall removes them and keeps the spool', async () => {
    const root = tmp('root')
    const node = await createAgent()
    // As the Nodes page's command runs it: the token on stdin (a pipe), never in argv or the environment.
    const install = await runAgent(['--install-service', '--root', root, '--interval', '10', '--token-file', '/dev/stdin'], { NODEPULSE_SERVER: server.baseURL, NODEPULSE_NODE_ID: String(node.id) }, { stdin: `${node.token}\n` })
    expect(install.code, install.output).toBe(0)
    // Enabled, then restarted: a re-install restarts a running service (enable --now would not).
    expect(install.output).toContain('(--root) would run: systemctl daemon-reload\nnodepulse-agent: (--root) would run: systemctl enable nodepulse-agent\nnodepulse-agent: (--root) would run: systemctl restart nodepulse-agent\n')
    expect(install.output).not.toContain('--now')
    const unit = readFileSync(join(root, 'etc/systemd/system/nodepulse-agent.service'), 'utf8')
    const envFile = join(root, 'etc/nodepulse/agent.env')
    const env = readFileSync(envFile, 'utf8')
    expect(statSync(envFile).mode & 0o777).toBe(0o600)
    expect(env).toContain(`NODEPULSE_TOKEN=${node.token}`)
    expect(env).toContain(`NODEPULSE_SERVER=${server.baseURL}`)
    expect(env).toContain('NODEPULSE_SPOOL_DIR=/var/lib/nodepulse')
    expect(env).toContain('NODEPULSE_INTERVAL=10')
    expect(unit).not.toContain(node.token)
    expect(unit).toMatch(/^EnvironmentFile=\/etc\/nodepulse\/agent\.env$/m)
    expect(unit).toMatch(/^ExecStart=\S*node\S* --lite-mode --no-expose-wasm \/usr\/local\/lib\/nodepulse\/nodepulse-agent\.mjs agent$/m)
    expect(unit).toMatch(/^StateDirectory=nodepulse$/m)
    expect(unit).toMatch(/^ProtectSystem=strict$/m)
    expect(unit).toMatch(/^Restart=always$/m)
    const copied = join(root, 'usr/local/lib/nodepulse/nodepulse-agent.mjs')
    expect(readFileSync(copied, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true)

    writeFileSync(join(root, 'keep'), '')
    const remove = await runAgent(['--uninstall-service', '--root', root], {})
    expect(remove.code, remove.output).toBe(0)
    expect(readdirSync(join(root, 'etc/systemd/system'))).toEqual([])
    expect(() => statSync(envFile)).toThrow()
    expect(() => statSync(copied)).toThrow()
  })

  it('needs root and systemd without --root', async (ctx) => {
    // As root on a machine running systemd this would really install the service: not here.
    if (process.getuid?.() === 0 && existsSync('/run/systemd/system')) return ctx.skip('root on a systemd host: the real install is not run by tests')
    const r = await runAgent(['--install-service'], { NODEPULSE_SERVER: server.baseURL, NODEPULSE_NODE_ID: '1', NODEPULSE_TOKEN: 'x' })
    expect(r.code).toBe(1)
    expect(r.output).toMatch(/needs systemd|run it as root/)
  })
})

describe('the served agent', () => {
  it('/agent/version names the files with their hashes and the server URL', async () => {
    const res = await api<AgentVersionView>('GET', '/agent/version')
    expect(res.status, res.text).toBe(200)
    expect(res.body).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+\.\d+\+[0-9a-f]{8}$/), node_agent: { path: '/agent/nodepulse-agent.mjs', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }, server_url: server.baseURL })
    const head = await fetch(`${server.baseURL}/agent/version`, { method: 'HEAD' })
    expect(head.status).toBe(200)
  })

  it('/agent/nodepulse-agent.mjs runs under plain node from a directory with no node_modules', async () => {
    const res = await fetch(`${server.baseURL}/agent/nodepulse-agent.mjs`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/javascript/)
    const etag = res.headers.get('etag')!
    const body = Buffer.from(await res.arrayBuffer())
    const version = (await api<AgentVersionView>('GET', '/agent/version')).body
    expect(body.length).toBe(version.node_agent.bytes)
    expect((await fetch(`${server.baseURL}/agent/nodepulse-agent.mjs`, { headers: { 'if-none-match': etag } })).status).toBe(304)
    const head = await fetch(`${server.baseURL}/agent/nodepulse-agent.mjs`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-type')).toMatch(/^application\/javascript/)

    const dir = tmp('served')
    writeFileSync(join(dir, 'nodepulse-agent.mjs'), body)
    const node = await createAgent()
    const run = await runAgent(['--once'], envFor(node), { cwd: dir, file: join(dir, 'nodepulse-agent.mjs') })
    expect(run.code, run.output).toBe(0)
  })

  it('/agent/nodepulse-agent.sh is the shell agent, or a JSON 404 in a build without it', async () => {
    const res = await api('GET', '/agent/nodepulse-agent.sh')
    const version = (await api<AgentVersionView>('GET', '/agent/version')).body
    if (version.shell_agent) {
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/x-shellscript/)
    }
    else {
      expect(res.status).toBe(404)
      expect(res.body.message).toContain('shell agent')
    }
  })
})
