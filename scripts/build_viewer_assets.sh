#!/usr/bin/env bash
# Vendor the viewer's JavaScript into src/monoscan/viewer/static/ from the npm registry.
#
# The viewer uses Google's <model-viewer> web component (Apache-2.0), whose single-file ES
# module build dist/model-viewer.min.js bundles three.js (MIT) and lit (BSD-3-Clause), so one
# file gives an orbitable, textured glTF view with no CDN and no hand-written WebGL. The file
# is copied UNMODIFIED (npm checks the tarball's integrity against the registry), together
# with the package's LICENSE; VERSION records what was copied and its sha256.
#
# Usage: scripts/build_viewer_assets.sh [VERSION]   (needs node + npm; run from anywhere)
set -euo pipefail
version="${1:-4.4.0}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
static="$repo/src/monoscan/viewer/static"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "@google/model-viewer@${version}" >/dev/null
tar xzf "google-model-viewer-${version}.tgz"
mkdir -p "$static"
cp package/dist/model-viewer.min.js "$static/model-viewer.min.js"
cp package/LICENSE "$static/LICENSE.model-viewer.txt"
sha="$(sha256sum "$static/model-viewer.min.js" | cut -d' ' -f1)"
printf '@google/model-viewer %s dist/model-viewer.min.js sha256 %s\n' "$version" "$sha" \
  > "$static/VERSION.txt"
cat "$static/VERSION.txt"
