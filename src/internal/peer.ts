import * as Data from "effect/Data"
import * as Effect from "effect/Effect"

/**
 * Raised when a layer needs an optional peer dependency that is not installed.
 *
 * @since 0.1.0
 * @category errors
 */
export class MissingPeerDependency extends Data.TaggedError("MissingPeerDependency")<{
  /** The npm package to install. */
  readonly packageName: string
  /** The flowtune function that needed it. */
  readonly neededBy: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `${this.neededBy} needs the optional peer dependency "${this.packageName}", which is not installed: ` +
      `npm install ${this.packageName}`
  }
}

const notFound = (cause: unknown, packageName: string): boolean => {
  const error = cause as { readonly code?: unknown; readonly message?: unknown } | null
  return typeof error === "object" && error !== null &&
    (error.code === "ERR_MODULE_NOT_FOUND" || error.code === "MODULE_NOT_FOUND") &&
    typeof error.message === "string" && error.message.includes(packageName)
}

/**
 * Loads an optional peer on first use (a dynamic `import()` written at the call site, so bundlers still see it).
 * Only "not installed" becomes `MissingPeerDependency`; any other load failure is a defect.
 *
 * @internal
 */
export const importPeer = <M>(
  packageName: string,
  neededBy: string,
  load: () => Promise<M>
): Effect.Effect<M, MissingPeerDependency> =>
  Effect.tryPromise({ try: load, catch: (cause) => cause }).pipe(
    Effect.catchAll((cause) =>
      notFound(cause, packageName)
        ? Effect.fail(new MissingPeerDependency({ packageName, neededBy, cause }))
        : Effect.die(cause)
    )
  )
