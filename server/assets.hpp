// Files that `tickflow serve` serves, built into the binary so that /openapi.json, /docs
// and /redoc work offline wherever tickflow is installed: the OpenAPI document
// (server/openapi.json) and the vendored Swagger UI and ReDoc bundles (server/web/, with
// their licences; versions in server/web/README.md).
#pragma once

#include <string_view>

namespace tickflow::server::assets {

std::string_view openapi_json();
std::string_view swagger_ui_bundle_js();
std::string_view swagger_ui_css();
std::string_view redoc_standalone_js();

}  // namespace tickflow::server::assets
