// GET /openapi.json, /docs (Swagger UI), /redoc (ReDoc) and the scripts those pages load,
// all from assets built into the binary: the pages work without any network.
#pragma once

#include "router.hpp"

namespace tickflow::server {

void add_docs_routes(Router& router);

}  // namespace tickflow::server
