import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Log } from '../../cli/agent/log'
import { installService, unitFile } from '../../cli/agent/service'
import type { AgentSettings } from '../../cli/agent/settings'

const settings: AgentSettings = {
  push: true, server: 'http://np', nodeId: 1, token: 'npa_t', intervalSeconds: 5, spoolDir: '/var/lib/nodepulse',
  spoolMax: 100, spoolMaxGiven: false, once: false, quiet: false,
}

describe('--install-service (under --root)', () => {
  it('enables the unit, then restarts it: a re-install restarts a running service', async () => {
    const root = mkdtempSync(join(tmpdir(), 'np-service-'))
    const agentFile = join(root, 'nodepulse-agent.mjs')
    writeFileSync(agentFile, '#!/usr/bin/env node\n')
    const lines: string[] = []
    const log: Log = { info: m => lines.push(m), warn: m => lines.push(m) }
    await installService(settings, agentFile, root, log)
    expect(lines.filter(l => l.startsWith('(--root) would run'))).toEqual([
      '(--root) would run: systemctl daemon-reload',
      '(--root) would run: systemctl enable nodepulse-agent',
      '(--root) would run: systemctl restart nodepulse-agent',
    ])
  })
})

describe('the unit', () => {
  it('restarts whatever the exit code: a refused token no longer stops the agent, and nothing keeps it stopped', () => {
    const unit = unitFile('/usr/bin/node', 'http://np')
    expect(unit).toMatch(/^Restart=always$/m)
    expect(unit).not.toContain('RestartPreventExitStatus')
  })
})
