import { defineConfig } from 'vitest/config'
import type { TestProjectInlineConfiguration } from 'vitest/config'

// Integration tests run against the built server (`npx nuxi build` first; `npm test` does it).
// Each integration project starts ONE server in its globalSetup and shares it across its files.
// Given both in one vitest run, the Postgres project follows the PGlite one (groupOrder);
// `npm test` runs it in a vitest process of its own instead (scripts/test.mjs).
const integration = (name: string, globalSetup: string, groupOrder: number): TestProjectInlineConfiguration => ({
  test: {
    name,
    sequence: { groupOrder },
    include: ['tests/integration/**/*.test.ts'],
    environment: 'node',
    globalSetup: [globalSetup],
    testTimeout: 30_000,
    hookTimeout: 90_000,
  },
})

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          environment: 'node',
          testTimeout: 20_000,
        },
      },
      integration('integration-pglite', 'tests/integration/support/global-pglite.ts', 0),
      // Only when a Postgres is given: the same suite on a fresh database of its own.
      ...(process.env.TEST_DATABASE_URL ? [integration('integration-postgres', 'tests/integration/support/global-postgres.ts', 1)] : []),
    ],
  },
})
