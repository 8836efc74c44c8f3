import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveSettings, SERVICE_SPOOL_DIR, SettingsError, type AgentFlags, type Env } from '../../cli/agent/settings'

const ENV: Env = { NODEPULSE_SERVER: 'https://np.example.com/', NODEPULSE_NODE_ID: '7', NODEPULSE_TOKEN: 'npn_secret', HOME: '/home/ops' }

const run = (flags: AgentFlags = {}, env: Env = ENV) => {
  const mode = resolveSettings(flags, env)
  if (mode.mode !== 'run') throw new Error(`expected run, got ${mode.mode}`)
  return mode
}

describe('agent settings', () => {
  it('reads the environment, with defaults for the rest', () => {
    expect(run().settings).toEqual({
      push: true, server: 'https://np.example.com', nodeId: 7, token: 'npn_secret', intervalSeconds: 5,
      spoolDir: '/home/ops/.local/state/nodepulse', spoolMax: 17_280, spoolMaxGiven: false, once: false, quiet: false,
    })
    expect(run({}, { ...ENV, XDG_STATE_HOME: '/state' }).settings.spoolDir).toBe('/state/nodepulse')
  })

  it('lets flags win over the environment; the default spool bound is 24 h at the interval', () => {
    const { settings } = run({ 'server': 'http://10.0.0.1:3000/np', 'node-id': '9', 'interval': '2', 'spool-dir': '/tmp/sp', 'once': true }, ENV)
    expect(settings).toMatchObject({ server: 'http://10.0.0.1:3000/np', nodeId: 9, intervalSeconds: 2, spoolDir: '/tmp/sp', spoolMax: 43_200, once: true })
    expect(run({ 'spool-max': '10' }).settings).toMatchObject({ spoolMax: 10, spoolMaxGiven: true })
    expect(run({}, { ...ENV, NODEPULSE_SPOOL_MAX: '11', NODEPULSE_INTERVAL: '60' }).settings).toMatchObject({ spoolMax: 11, intervalSeconds: 60 })
  })

  it('--listen: a token (flag, file or NODEPULSE_LISTEN_TOKEN) and every interface, or --listen-insecure on 127.0.0.1; without --server it only listens', () => {
    const token = '0123456789abcdef0123'
    const both = run({ listen: '9101' }, { ...ENV, NODEPULSE_LISTEN_TOKEN: token })
    expect(both.settings).toMatchObject({ push: true, listen: { port: 9101, host: undefined, token, announce: true, keep: 17_280 } })
    const only = run({ 'listen': '9101', 'announce': false, 'listen-host': '::1' }, { HOME: '/home/ops', NODEPULSE_LISTEN_TOKEN: token })
    expect(only.settings).toMatchObject({ push: false, nodeId: 1, listen: { port: 9101, host: '::1', token, announce: false } })
    const insecure = run({ 'listen': '9101', 'listen-insecure': true }, { HOME: '/home/ops' })
    expect(insecure.settings.listen).toMatchObject({ host: '127.0.0.1', token: undefined })
    expect(run({ 'listen': '9101', 'listen-insecure': true, 'listen-host': '0.0.0.0' }, { HOME: '/home/ops' }).warnings.join()).toContain('without a token')
    expect(run({ 'listen': '9101', 'listen-token': token }, { HOME: '/home/ops' }).warnings.join()).toMatch(/--listen-token shows in `ps`.*NODEPULSE_LISTEN_TOKEN.*--listen-token-file/)
    const refused: [AgentFlags, Env, RegExp][] = [
      [{ listen: '9101' }, { HOME: '/h' }, /refusing to listen without a token/],
      [{ listen: '9101' }, { HOME: '/h', NODEPULSE_LISTEN_TOKEN: 'short' }, /at least 16/],
      [{ 'listen': '9101', 'listen-insecure': true }, { HOME: '/h', NODEPULSE_LISTEN_TOKEN: token }, /not both/],
      [{ listen: '70000' }, { HOME: '/h', NODEPULSE_LISTEN_TOKEN: token }, /--listen=70000 is invalid/],
      [{ 'listen-token': token }, ENV, /--listen-token only goes with --listen/],
      [{ listen: '9101', once: true }, { HOME: '/h', NODEPULSE_LISTEN_TOKEN: token }, /--once/],
      [{ 'listen': '9101', 'install-service': true }, { ...ENV, NODEPULSE_LISTEN_TOKEN: token }, /not installed as a service/],
    ]
    for (const [flags, env, message] of refused) expect(() => resolveSettings(flags, env), JSON.stringify(flags)).toThrow(message)
  })

  it('accepts --token but warns that ps shows it, naming the safer ways', () => {
    const mode = run({ token: 'npn_flag' })
    expect(mode.settings.token).toBe('npn_flag')
    expect(mode.warnings.join('\n')).toMatch(/ps.*NODEPULSE_TOKEN.*--token-file/)
    expect(run().warnings).toEqual([])
  })

  it('reads --token-file (trimmed) before NODEPULSE_TOKEN', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'np-settings-')), 'token')
    writeFileSync(file, 'npn_from_file\n', { mode: 0o600 })
    expect(run({ 'token-file': file }).settings.token).toBe('npn_from_file')
    expect(run({}, { ...ENV, NODEPULSE_TOKEN_FILE: file }).settings.token).toBe('npn_from_file')
    writeFileSync(file, '\n')
    expect(() => run({ 'token-file': file })).toThrow(`the token file ${file} (--token-file) is empty`)
    expect(() => run({ 'token-file': '/nonexistent/token' })).toThrow('cannot read the token file /nonexistent/token (--token-file): ENOENT')
  })

  it.each([
    [{}, { ...ENV, NODEPULSE_SERVER: undefined }, 'no server: give --server URL or set NODEPULSE_SERVER'],
    [{ server: 'np.example.com' }, ENV, '--server=np.example.com is not an http:// or https:// URL'],
    [{}, { ...ENV, NODEPULSE_SERVER: 'ftp://x' }, 'NODEPULSE_SERVER=ftp://x is not an http:// or https:// URL'],
    [{}, { ...ENV, NODEPULSE_NODE_ID: undefined }, 'no node id'],
    [{ 'node-id': 'seven' }, ENV, '--node-id=seven is invalid: expected a whole number from 1 to 2147483647'],
    [{ 'node-id': '0' }, ENV, '--node-id=0 is invalid'],
    [{ interval: '0.5' }, ENV, '--interval=0.5 is invalid: expected a number from 1 to 3600'],
    [{}, { ...ENV, NODEPULSE_SPOOL_MAX: '-1' }, 'NODEPULSE_SPOOL_MAX=-1 is invalid'],
    [{}, { ...ENV, NODEPULSE_TOKEN: undefined }, 'no node token: set NODEPULSE_TOKEN, or give --token-file FILE'],
    [{ token: 'a b' }, ENV, 'the node token contains whitespace'],
    [{ root: '/tmp/r' }, ENV, '--root only goes with --install-service or --uninstall-service'],
    [{ 'install-service': true, 'uninstall-service': true }, ENV, 'not both'],
    [{ 'install-service': true, 'once': true }, ENV, '--once and --install-service do not go together'],
  ] satisfies [AgentFlags, Env, string][])('refuses %j with a message naming the setting', (flags, env, message) => {
    expect(() => resolveSettings(flags, env)).toThrow(SettingsError)
    expect(() => resolveSettings(flags, env)).toThrow(message)
  })

  it('installs the service with its own spool directory, and uninstalls without any settings', () => {
    const install = resolveSettings({ 'install-service': true, 'root': '/tmp/r', 'spool-dir': '/elsewhere' }, ENV)
    expect(install).toMatchObject({ mode: 'install-service', root: '/tmp/r', settings: { spoolDir: SERVICE_SPOOL_DIR, nodeId: 7 } })
    expect(resolveSettings({ 'uninstall-service': true, 'purge': true }, {})).toEqual({ mode: 'uninstall-service', root: undefined, purge: true, warnings: [] })
  })
})
