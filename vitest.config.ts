import { defineConfig } from 'vitest/config'
import type { TestProjectInlineConfiguration } from 'vitest/config'

// Integration tests run against the built server (`npx nuxi build` first; `npm test` does it).
// Each integration project starts ONE server in its globalSetup and shares it across its files,
// so the files of a project run one at a time (fileParallelism: false), whatever the CPU count.
// `npm test` runs the Postgres project in a vitest process of its own (scripts/test.mjs).
const integration = (name: string, globalSetup: string): TestProjectInlineConfiguration => ({
  test: {
    name,
    include: ['tests/integration/**/*.test.ts'],
    environment: 'node',
    allowOnly: false,
    globalSetup: [globalSetup],
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 90_000,
  },
})

export default defineConfig({
  test: {
    // A committed `.only` would silently skip the rest of the suite.
    allowOnly: false,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          environment: 'node',
          allowOnly: false,
          testTimeout: 20_000,
        },
      },
      integration('integration-pglite', 'tests/integration/support/global-pglite.ts'),
      // Fault injection (`npm run test:faults`): each test starts and breaks servers of its own.
      {
        test: {
          name: 'faults',
          include: ['tests/faults/**/*.test.ts'],
          environment: 'node',
          allowOnly: false,
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 90_000,
        },
      },
      // Only when a Postgres is given: the same suite on a fresh database of its own.
      ...(process.env.TEST_DATABASE_URL ? [integration('integration-postgres', 'tests/integration/support/global-postgres.ts')] : []),
    ],
  },
})
