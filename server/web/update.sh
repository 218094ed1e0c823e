#!/usr/bin/env bash
# Replaces the vendored Swagger UI and ReDoc bundles with the pinned npm versions below.
set -euo pipefail
SWAGGER_UI_VERSION=5.35.0
REDOC_VERSION=2.5.2
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "swagger-ui-dist@$SWAGGER_UI_VERSION" "redoc@$REDOC_VERSION" >/dev/null
mkdir swagger redoc
tar xzf "swagger-ui-dist-$SWAGGER_UI_VERSION.tgz" -C swagger
tar xzf "redoc-$REDOC_VERSION.tgz" -C redoc
cp swagger/package/{swagger-ui-bundle.js,swagger-ui.css,swagger-ui-bundle.js.LICENSE.txt,LICENSE,NOTICE} \
  "$here/swagger-ui/"
cp redoc/package/bundles/{redoc.standalone.js,redoc.standalone.js.LICENSE.txt} redoc/package/LICENSE \
  "$here/redoc/"
echo "updated: swagger-ui-dist $SWAGGER_UI_VERSION, redoc $REDOC_VERSION"
