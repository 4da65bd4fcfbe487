import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const src = fileURLToPath(new URL("./src/", import.meta.url))

export default defineConfig({
  // `flowtune` and `flowtune/<Module>` resolve to src/ (as the package's "@flowtune/source" export condition does
  // for tsc and tsx), so tests run against the sources without a build. An alias rather than `resolve.conditions`:
  // changing Vite's conditions also changes how it resolves every other package (OpenTelemetry's ESM build breaks).
  resolve: {
    alias: [
      { find: /^flowtune$/, replacement: `${src}index.ts` },
      { find: /^flowtune\/(?!internal\/)(.+)$/, replacement: `${src}$1.ts` }
    ]
  },
  test: {
    // The tour (an npm workspace, tour/) is tested with the library: `npm test` runs both.
    include: ["test/**/*.test.ts", "tour/test/**/*.test.ts"],
    // Integration suites share one Redis and one PostgreSQL; files run in parallel but each uses its own keys.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ["default"]
  }
})
