#!/bin/sh
# Installs dependencies under Node 22 when they are missing or stale.
#
# Why: the machine's system Node may be 20, and npm under Node 20 silently
# skips firebase-admin's optional @google-cloud/firestore (engine field), so the
# app would only fail at run time. We run npm itself under Node 22 (the `node`
# npm package ships a real binary), and that same package puts Node 22 first on
# PATH for every later npm script through node_modules/.bin.
set -e
cd "$(dirname "$0")/.."
stamp=node_modules/.seraphim-installed
if [ -x node_modules/.bin/node ] && [ -f "$stamp" ] && [ ! package-lock.json -nt "$stamp" ] \
  && [ ! package.json -nt "$stamp" ] && [ ! functions/package.json -nt "$stamp" ] && [ ! hosting/package.json -nt "$stamp" ]; then
  exit 0
fi
node22=node@22.23.3
say() { echo "seraphim: $*" >&2; }
say "installing dependencies (first run, or package files changed); a first run takes a few minutes."
say "[1/3] fetching Node 22 to run npm under ($node22)..."
npx -y -p "$node22" -- node --version >&2
say "[2/3] installing the packages package-lock.json lists (npm's progress follows)..."
# `npm install`, not `npm ci`: it adds what changed to an existing node_modules
# instead of deleting it. `--no-save` leaves the tracked package-lock.json as it
# is: install would otherwise rewrite it (optional binaries of other platforms)
# on every fresh clone. The lock is read either way.
# npm shows progress on a terminal only; elsewhere (CI, an editor's task) a
# line every 30 s says the install has not hung.
(
  elapsed=0
  while sleep 1; do
    elapsed=$((elapsed + 1))
    if [ $((elapsed % 30)) -eq 0 ]; then say "      still installing ($((elapsed / 60))m$((elapsed % 60))s)..."; fi
  done
) &
ticker=$!
# `|| true`: the ticker may be gone already, and a failing command in an EXIT trap would become
# the script's exit status (dash), failing a successful install.
trap 'kill $ticker 2>/dev/null || true' EXIT
npx -y -p "$node22" -- npm install --no-save --no-audit --no-fund --progress --loglevel=error
kill $ticker 2>/dev/null || true
trap - EXIT
say "[3/3] checking that node_modules/.bin/node is Node 22..."
"./node_modules/.bin/node" -e 'const [major]=process.versions.node.split(".");if(+major<22){console.error("Node 22 was not installed");process.exit(1)}'
touch "$stamp"
say "dependencies installed."
