#include "assets.hpp"

// Each file is included by the assembler (.incbin), so a 2 MB bundle costs the compiler
// nothing; TICKFLOW_SERVER_DIR is the absolute path of server/ (set by CMake, which also
// rebuilds this file when an asset changes).
#ifndef TICKFLOW_SERVER_DIR
#error "TICKFLOW_SERVER_DIR must name the server/ source directory"
#endif

#define TICKFLOW_EMBED(name, file)                                                                 \
  asm(".section .rodata\n"                                                                         \
      ".balign 16\n"                                                                               \
      ".type tickflow_asset_" #name                                                                \
      "_begin, @object\n"                                                                          \
      "tickflow_asset_" #name                                                                      \
      "_begin:\n"                                                                                  \
      ".incbin \"" TICKFLOW_SERVER_DIR "/" file                                                    \
      "\"\n"                                                                                       \
      "tickflow_asset_" #name                                                                      \
      "_end:\n"                                                                                    \
      ".byte 0\n"                                                                                  \
      ".previous\n");                                                                              \
  extern "C" const char tickflow_asset_##name##_begin[] __asm__("tickflow_asset_" #name "_begin"); \
  extern "C" const char tickflow_asset_##name##_end[] __asm__("tickflow_asset_" #name "_end");

TICKFLOW_EMBED(openapi, "openapi.json")
TICKFLOW_EMBED(swagger_js, "web/swagger-ui/swagger-ui-bundle.js")
TICKFLOW_EMBED(swagger_css, "web/swagger-ui/swagger-ui.css")
TICKFLOW_EMBED(redoc_js, "web/redoc/redoc.standalone.js")

namespace tickflow::server::assets {

#define TICKFLOW_ASSET_VIEW(name) \
  std::string_view(tickflow_asset_##name##_begin, tickflow_asset_##name##_end)

std::string_view openapi_json() {
  return TICKFLOW_ASSET_VIEW(openapi);
}
std::string_view swagger_ui_bundle_js() {
  return TICKFLOW_ASSET_VIEW(swagger_js);
}
std::string_view swagger_ui_css() {
  return TICKFLOW_ASSET_VIEW(swagger_css);
}
std::string_view redoc_standalone_js() {
  return TICKFLOW_ASSET_VIEW(redoc_js);
}

}  // namespace tickflow::server::assets
