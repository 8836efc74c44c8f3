import { describe, expect, it } from 'vitest'
import { machine } from 'node:os'
import type { SampleInput } from '../../server/services/ingest'
import { readOs, startMasterSampler } from '../../server/services/master'

describe('startMasterSampler', () => {
  it('hands on this host\'s samples as the ingest stores an agent\'s, detail included', async () => {
    const samples: SampleInput[] = []
    const stop = startMasterSampler(0.05, '/', async (s) => {
      samples.push(s)
    })
    const end = Date.now() + 5000
    while (samples.length < 2 && Date.now() < end) await new Promise(r => setTimeout(r, 20))
    await stop()
    expect(samples.length).toBeGreaterThanOrEqual(2)
    const [first, second] = samples
    expect(first!.ts).toBeInstanceOf(Date)
    expect(second!.ts.getTime()).toBeGreaterThan(first!.ts.getTime())
    expect(second).toMatchObject({ cpuPercent: expect.any(Number), diskPercent: expect.any(Number), activeBackups: 0 })
    expect(second!.detail?.memory?.total_bytes).toBeGreaterThan(0)
    expect(second!.detail?.disk?.mount).toBe('/')
    expect(second!.detail?.os?.platform).toBe(process.platform)
  })

  it('stops: no sample arrives after the stop function resolves', async () => {
    let count = 0
    const stop = startMasterSampler(0.02, '/', async () => {
      count++
    })
    await new Promise(r => setTimeout(r, 200))
    await stop()
    const after = count
    await new Promise(r => setTimeout(r, 200))
    expect(count).toBe(after)
  })

  it('keeps sampling after the receiver fails', async () => {
    let calls = 0
    const errors = console.error
    console.error = () => {}
    try {
      const stop = startMasterSampler(0.02, '/', async () => {
        calls++
        throw new Error('database away')
      })
      const end = Date.now() + 5000
      while (calls < 3 && Date.now() < end) await new Promise(r => setTimeout(r, 20))
      await stop()
    }
    finally {
      console.error = errors
    }
    expect(calls).toBeGreaterThanOrEqual(3)
  })
})

describe('readOs', () => {
  it('describes the host once, with the fields the master stream shows', async () => {
    const o = await readOs()
    expect(o).toEqual({ platform: process.platform, distro: expect.any(String), release: expect.any(String), kernel: expect.any(String), arch: machine(), hostname: expect.any(String) })
    expect(await readOs()).toBe(o)
  })
})
