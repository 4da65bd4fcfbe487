// Types of bin/cli.js (plain JavaScript so that help and errors need no TypeScript loader).

export declare const name: string
export declare const version: string
export declare const steps: ReadonlyArray<string>

export interface OptionSpec {
  readonly name: string
  readonly type: "number" | "integer" | "string" | "boolean" | "steps"
  readonly default: string | number | boolean | undefined
  readonly description: string
}

export interface CommandSpec {
  readonly summary: string
  readonly args: string | undefined
  readonly options: ReadonlyArray<OptionSpec>
}

export declare const commands: Readonly<Record<"tour" | "bench" | "profile", CommandSpec>>

export type Parsed =
  | { readonly _tag: "Help"; readonly command: "tour" | "bench" | "profile" | undefined }
  | { readonly _tag: "Version" }
  | { readonly _tag: "Error"; readonly message: string }
  | {
    readonly _tag: "Run"
    readonly command: "tour" | "bench" | "profile"
    readonly options: Readonly<Record<string, string | number | boolean | ReadonlyArray<string> | undefined>>
    readonly args: ReadonlyArray<string>
  }

export declare const useColor: (stream: { readonly isTTY?: boolean | undefined } | undefined) => boolean
export declare const invokedAs: () => string
export declare const help: (command?: "tour" | "bench" | "profile" | undefined, color?: boolean) => string
export declare const parse: (argv: ReadonlyArray<string>) => Parsed
export declare const answer: (argv: ReadonlyArray<string>) => Extract<Parsed, { readonly _tag: "Run" }> | undefined
