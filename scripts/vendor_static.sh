#!/usr/bin/env bash
# Vendor pinned front-end libraries (see package.json) from the npm registry
# into static/vendor/ so that nothing is loaded from a CDN at run time.
#
# Usage: bash scripts/vendor_static.sh   (or: npm run vendor)
# Idempotent: static/vendor/ is wiped and rebuilt on every run.
set -euo pipefail

# Always operate from the repository root, whatever the caller's cwd.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ -f package-lock.json ]]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi

NM="$ROOT/node_modules"
DEST="$ROOT/static/vendor"

# copy SRC DEST_DIR: copy a required file (fails loudly if missing).
copy() {
  local src="$1" dir="$2"
  if [[ ! -s "$src" ]]; then
    echo "vendor_static: missing or empty: $src" >&2
    exit 1
  fi
  mkdir -p "$dir"
  cp "$src" "$dir/"
}

# copy_min SRC DEST_DIR: copy a minified file plus its .map if the package
# ships one. If there is no map, strip the sourceMappingURL comment so that
# collectstatic's manifest storage does not fail on a missing file.
copy_min() {
  local src="$1" dir="$2"
  copy "$src" "$dir"
  if [[ -f "$src.map" ]]; then
    cp "$src.map" "$dir/"
  else
    sed -i -E '/^[[:space:]]*(\/\/|\/\*)[#@] sourceMappingURL=/d' "$dir/$(basename "$src")"
  fi
}

rm -rf "$DEST"
mkdir -p "$DEST"

# Bootstrap (CSS + JS bundle incl. Popper)
copy_min "$NM/bootstrap/dist/css/bootstrap.min.css"         "$DEST/bootstrap"
copy_min "$NM/bootstrap/dist/js/bootstrap.bundle.min.js"    "$DEST/bootstrap"
copy     "$NM/bootstrap/LICENSE"                            "$DEST/bootstrap"

# Bootstrap Icons: the CSS references url("fonts/bootstrap-icons.woff2?...")
# relative to itself, so fonts/ sits next to the CSS.
copy_min "$NM/bootstrap-icons/font/bootstrap-icons.min.css" "$DEST/bootstrap-icons"
copy     "$NM/bootstrap-icons/font/fonts/bootstrap-icons.woff"  "$DEST/bootstrap-icons/fonts"
copy     "$NM/bootstrap-icons/font/fonts/bootstrap-icons.woff2" "$DEST/bootstrap-icons/fonts"
copy     "$NM/bootstrap-icons/LICENSE"                      "$DEST/bootstrap-icons"

# htmx
copy_min "$NM/htmx.org/dist/htmx.min.js"                    "$DEST/htmx"
copy     "$NM/htmx.org/LICENSE"                             "$DEST/htmx"

# Chart.js (UMD build; the package's license file is LICENSE.md)
copy_min "$NM/chart.js/dist/chart.umd.min.js"               "$DEST/chartjs"
copy     "$NM/chart.js/LICENSE.md"                          "$DEST/chartjs"

echo "vendor_static: vendored into ${DEST#"$ROOT/"}:"
find "$DEST" -type f | sort | sed "s|^$ROOT/||"
