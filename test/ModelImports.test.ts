/**
 * Module load order: the simulated model, loaded before anything else, must not
 * meet a half-initialized module (it read the default price table through an
 * import cycle and failed with "Cannot access 'profiles' before initialization").
 */
import { describe, expect, it } from "@effect/vitest"
import * as modelSimulated from "../src/internal/modelSimulated.js"
import * as Model from "../src/Model.js"

describe("module load order", () => {
  it("the simulated model loads first, and the default prices still list its profiles", () => {
    expect(Object.keys(modelSimulated.profiles)).toContain("fast")
    expect(Model.profiles.fast.costPerCall).toBe(0.0005)
  })
})
