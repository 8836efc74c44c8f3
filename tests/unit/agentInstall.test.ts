import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { agentCommand, parseAgentVersion, TOKEN_PLACEHOLDER, type AgentCommandInput } from '../../utils/agentInstall'
import { shellQuote, shellWord } from '../../utils/shell'
import type { AgentVersionView } from '../../shared/contracts/rest'

const NASTY = `it's $HOME \`id\` "q" \\ ; & | * ~ !x\nline2`

/** What `sh -c` makes of a word (printf prints it back unchanged). */
const throughShell = (word: string) => execFileSync('sh', ['-c', `printf '%s' ${word}`], { encoding: 'utf8' })

describe('shellQuote / shellWord', () => {
  it('gives the shell back exactly the word, whatever it holds', () => {
    for (const word of [NASTY, '', 'plain', '\'', '\'\'', 'a\'b\'c']) expect(throughShell(shellQuote(word))).toBe(word)
    for (const word of [NASTY, 'http://127.0.0.1:3000', 'https://np.example.com/x?a=1&b=2', '~root', 'a b']) expect(throughShell(shellWord(word))).toBe(word)
  })

  it('leaves plain words bare and quotes the rest', () => {
    expect(shellWord('https://np.example.com:8443/base')).toBe('https://np.example.com:8443/base')
    expect(shellWord('a b')).toBe('\'a b\'')
    expect(shellWord('~root')).toBe('\'~root\'')
    expect(shellWord('x&y')).toBe('\'x&y\'')
  })
})

const base: AgentCommandInput = { kind: 'node', mode: 'foreground', serverUrl: 'http://10.0.0.5:3000', path: '/agent/nodepulse-agent.mjs', nodeId: 7, token: 'npa_abc-DEF_123' }

describe('agentCommand', () => {
  it('downloads the Node agent and runs it in the foreground with the token in the environment', () => {
    expect(agentCommand(base)).toBe(
      'curl -fsSL http://10.0.0.5:3000/agent/nodepulse-agent.mjs -o nodepulse-agent.mjs'
      + ' && NODEPULSE_TOKEN=\'npa_abc-DEF_123\' node --lite-mode --no-expose-wasm nodepulse-agent.mjs --server http://10.0.0.5:3000 --node-id 7',
    )
  })

  it('installs a service with sudo and --install-service, the token on stdin (not in sudo\'s argv)', () => {
    expect(agentCommand({ ...base, mode: 'service' })).toBe(
      'curl -fsSL http://10.0.0.5:3000/agent/nodepulse-agent.mjs -o nodepulse-agent.mjs'
      + ' && printf \'%s\\n\' \'npa_abc-DEF_123\' | sudo node nodepulse-agent.mjs --token-file /dev/stdin --server http://10.0.0.5:3000 --node-id 7 --install-service',
    )
    expect(agentCommand({ ...base, kind: 'shell', mode: 'service', path: '/agent/nodepulse-agent.sh' })).toBe(
      'curl -fsSL http://10.0.0.5:3000/agent/nodepulse-agent.sh -o nodepulse-agent.sh'
      + ' && printf \'%s\\n\' \'npa_abc-DEF_123\' | sudo sh nodepulse-agent.sh --token-file /dev/stdin --server http://10.0.0.5:3000 --node-id 7 --install-service',
    )
  })

  it('runs the shell agent with sh, saved under its own name whatever the served path', () => {
    expect(agentCommand({ ...base, kind: 'shell', path: '/agent/v2/agent.sh', serverUrl: 'https://np.example.com/' })).toBe(
      'curl -fsSL https://np.example.com/agent/v2/agent.sh -o nodepulse-agent.sh'
      + ' && NODEPULSE_TOKEN=\'npa_abc-DEF_123\' sh nodepulse-agent.sh --server https://np.example.com --node-id 7',
    )
  })

  it('puts a quoted placeholder where the token is not known, and never the token in argv', () => {
    const command = agentCommand({ ...base, token: null })
    expect(command).toContain(`NODEPULSE_TOKEN='${TOKEN_PLACEHOLDER}' node`)
    expect(command).not.toContain('--token')
  })
})

describe('agentCommand in a real shell', () => {
  // Stand-ins for curl, sudo, node and sh that record every argv the shell hands them (and what
  // node/sh get in NODEPULSE_TOKEN and on stdin).
  const dir = mkdtempSync(join(tmpdir(), 'np-install-'))
  const log = join(dir, 'log')
  const argvLog = join(dir, 'argv')
  const stub = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/bin/sh\nfor a in "$0" "$@"; do printf '[%s]' "$a" >> "${argvLog}"; done; echo >> "${argvLog}"\n${body}\n`)
    chmodSync(join(dir, name), 0o755)
  }
  const agentStub = (name: string) => `printf '${name} token=[%s]' "$NODEPULSE_TOKEN" >> "${log}"; for a in "$@"; do printf ' [%s]' "$a" >> "${log}"; done
case " $* " in *" --token-file /dev/stdin "*) printf ' stdin=[%s]' "$(cat)" >> "${log}";; esac; echo >> "${log}"`
  stub('curl', `printf 'curl' >> "${log}"; for a in "$@"; do printf ' [%s]' "$a" >> "${log}"; done; echo >> "${log}"`)
  stub('sudo', `PATH="${dir}:$PATH" exec env "$@"`)
  stub('env', `exec /usr/bin/env "$@"`)
  stub('node', agentStub('node'))
  stub('sh', agentStub('sh'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  function run(input: AgentCommandInput): string {
    writeFileSync(log, '')
    writeFileSync(argvLog, '')
    execFileSync('/bin/sh', ['-c', agentCommand(input)], { cwd: dir, env: { PATH: `${dir}:/usr/bin:/bin` } })
    return readFileSync(log, 'utf8')
  }

  it('hands the agent the token on stdin, server and node id unchanged, even with quotes and $ in them; no argv holds the token', () => {
    const serverUrl = 'https://np.example.com/it\'s $PATH'
    const token = `npa_it's-$HOME-\`id\`-"q"`
    expect(run({ ...base, mode: 'service', serverUrl, token })).toBe(
      `curl [-fsSL] [${serverUrl}/agent/nodepulse-agent.mjs] [-o] [nodepulse-agent.mjs]\n`
      + `node token=[] [nodepulse-agent.mjs] [--token-file] [/dev/stdin] [--server] [${serverUrl}] [--node-id] [7] [--install-service] stdin=[${token}]\n`,
    )
    const argv = readFileSync(argvLog, 'utf8')
    expect(argv).toMatch(/sudo\]\[node\]/)
    expect(argv).not.toContain(token)
    expect(run({ ...base, kind: 'shell', mode: 'service', path: '/agent/nodepulse-agent.sh', token })).toContain(`sh token=[] [nodepulse-agent.sh] [--token-file] [/dev/stdin]`)
    expect(readFileSync(log, 'utf8')).toContain(`stdin=[${token}]`)
    expect(readFileSync(argvLog, 'utf8')).not.toContain(token)
  })

  it('runs the foreground command as it reads, the token in the environment only', () => {
    expect(run(base)).toBe(
      'curl [-fsSL] [http://10.0.0.5:3000/agent/nodepulse-agent.mjs] [-o] [nodepulse-agent.mjs]\n'
      + 'node token=[npa_abc-DEF_123] [--lite-mode] [--no-expose-wasm] [nodepulse-agent.mjs] [--server] [http://10.0.0.5:3000] [--node-id] [7]\n',
    )
    expect(readFileSync(argvLog, 'utf8')).not.toContain('npa_abc-DEF_123')
  })
})

describe('parseAgentVersion', () => {
  const version: AgentVersionView = {
    version: '0.2.0',
    node_agent: { path: '/agent/nodepulse-agent.mjs', sha256: 'ab'.repeat(32), bytes: 123_456 },
    shell_agent: { path: '/agent/nodepulse-agent.sh', sha256: 'cd'.repeat(32), bytes: 9_876 },
    server_url: 'https://np.example.com',
  }

  it('takes a version answer, with or without the shell agent', () => {
    expect(parseAgentVersion(version)).toEqual(version)
    expect(parseAgentVersion({ ...version, shell_agent: null })).toEqual({ ...version, shell_agent: null })
  })

  it('refuses what is not one: the dashboard page a server without the route answers, or a partial body', () => {
    expect(parseAgentVersion('<!DOCTYPE html><html>')).toBeNull()
    expect(parseAgentVersion(null)).toBeNull()
    expect(parseAgentVersion({ ...version, server_url: 'javascript:alert(1)' })).toBeNull()
    expect(parseAgentVersion({ ...version, node_agent: null })).toBeNull()
    expect(parseAgentVersion({ ...version, shell_agent: { path: 'x' } })).toBeNull()
  })
})
