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
echo "seraphim: installing dependencies under Node 22 (first run, or package files changed)..." >&2
# `npm install`, not `npm ci`: the registry reachable here lacks some other
# platforms' optional binaries (e.g. @biomejs/cli-darwin-arm64), so the lock
# file cannot list them and `npm ci` would refuse it. install still follows the lock.
npx -y -p node@22.23.3 -- npm install --no-audit --no-fund --loglevel=error
"./node_modules/.bin/node" -e 'const [major]=process.versions.node.split(".");if(+major<22){console.error("Node 22 was not installed");process.exit(1)}'
touch "$stamp"
