import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration suites share one Redis and one PostgreSQL; files run in parallel but each uses its own keys.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ["default"]
  }
})
