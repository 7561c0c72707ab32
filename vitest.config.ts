import { defineConfig } from 'vitest/config';

// graphql ships a separate development build under the `development` export condition. Vite adds
// that condition in test mode while Node (which loads graphql-yoga) does not, which would load two
// copies of graphql and break `instanceof GraphQLError`. Resolve like Node does in production:
// Node 24 matches `module-sync` (graphql's index.mjs), never the bundlers' `module` (whose builds,
// e.g. @opentelemetry/*'s, use extensionless imports Node cannot load).
const conditions = ['module-sync', 'node', 'production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['node', 'production'] } },
  test: {
    include: ['tests/**/*.test.ts'],
    reporters: ['default', './tests/support/summary-reporter.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
