#include "docs_routes.hpp"

#include <string>

#include "assets.hpp"

namespace tickflow::server {

namespace {

constexpr const char* kSwaggerPage = R"(<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>tickflow serve - Swagger UI</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui",
                                 deepLinking: true, validatorUrl: null});
  </script>
</body>
</html>
)";

constexpr const char* kRedocPage = R"(<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>tickflow serve - ReDoc</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
</head>
<body>
  <div id="redoc-container"></div>
  <script src="/redoc/redoc.standalone.js"></script>
  <script>
    Redoc.init("/openapi.json", {disableSearch: false, hideDownloadButton: false},
               document.getElementById("redoc-container"));
  </script>
</body>
</html>
)";

void add_static(Router& router, std::string path, std::string_view content,
                std::string content_type) {
  router.add("GET", std::move(path),
             [content, content_type](std::shared_ptr<HttpRequest>, Responder respond) {
               HttpResponse response;
               response.content_type = content_type;
               response.body.assign(content);
               respond(std::move(response));
             });
}

}  // namespace

void add_docs_routes(Router& router) {
  add_static(router, "/openapi.json", assets::openapi_json(), "application/json");
  add_static(router, "/docs", kSwaggerPage, "text/html; charset=utf-8");
  add_static(router, "/docs/swagger-ui-bundle.js", assets::swagger_ui_bundle_js(),
             "application/javascript");
  add_static(router, "/docs/swagger-ui.css", assets::swagger_ui_css(), "text/css");
  add_static(router, "/redoc", kRedocPage, "text/html; charset=utf-8");
  add_static(router, "/redoc/redoc.standalone.js", assets::redoc_standalone_js(),
             "application/javascript");
}

}  // namespace tickflow::server
