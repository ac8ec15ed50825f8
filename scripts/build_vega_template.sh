#!/usr/bin/env bash
# Rebuilds vendor/vega-offline.html: the HTML template `dvc plots show` uses (see .dvc/config,
# plots.html_template), with Vega, Vega-Lite and Vega-Embed inlined so the page needs no network.
# The packages come from the npm registry through the ordinary npm client, at the pinned versions.
set -euo pipefail
VEGA=5.33.1
VEGA_LITE=5.23.0
VEGA_EMBED=6.29.0
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent "vega@$VEGA" "vega-lite@$VEGA_LITE" "vega-embed@$VEGA_EMBED" >/dev/null
for f in *.tgz; do mkdir "${f%.tgz}"; tar -xzf "$f" -C "${f%.tgz}"; done
{
  printf '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>Pipeline plots</title>\n'
  printf '<!-- Inlined for offline use: vega %s, vega-lite %s, vega-embed %s (npm packages; BSD-3-Clause). -->\n' \
    "$VEGA" "$VEGA_LITE" "$VEGA_EMBED"
  for js in "vega-$VEGA/package/build/vega.min.js" \
            "vega-lite-$VEGA_LITE/package/build/vega-lite.min.js" \
            "vega-embed-$VEGA_EMBED/package/build/vega-embed.min.js"; do
    printf '<script type="text/javascript">\n'
    sed 's#</script#<\\/script#g' "$js"
    printf '\n</script>\n'
  done
  printf '<style>body{font-family:sans-serif} table{border-spacing:15px}</style>\n</head>\n<body>\n{plot_divs}\n</body>\n</html>\n'
} > "$root/vendor/vega-offline.html"
echo "wrote vendor/vega-offline.html ($(wc -c < "$root/vendor/vega-offline.html") bytes)"
