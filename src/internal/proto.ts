/**
 * The prototype shared by primitives and stream primitives: `pipe`, and a
 * `toString`/`toJSON` that name the kind and show the tree of children. The
 * variance marker under the type id is only read by the type checker.
 *
 * @internal
 */
import { pipeArguments } from "effect/Pipeable"

interface Node {
  readonly name: string
  readonly kind: string
  readonly children: ReadonlyArray<{ toJSON(): unknown }>
}

const variance = {
  _In: (_: unknown) => _,
  _Out: (_: never) => _,
  _A: (_: never) => _,
  _E: (_: never) => _,
  _R: (_: never) => _
}

/** A prototype for values tagged with `typeId`, shown as `label(name)`. @internal */
export const make = (typeId: symbol, label: string) => ({
  [typeId]: variance,
  pipe() {
    return pipeArguments(this, arguments)
  },
  toString(this: Node) {
    return `${label}(${this.name})`
  },
  toJSON(this: Node) {
    return { _id: label, name: this.name, kind: this.kind, children: this.children.map((c) => c.toJSON()) }
  }
})
