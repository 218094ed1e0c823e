// `tickflow serve`: runs the App behind an asynchronous HTTP/1.1 server (RESTinio on
// asio) until SIGINT or SIGTERM. Returns the process exit status: 0 after a graceful stop,
// 1 when the journal is damaged or the address cannot be listened on.
#pragma once

#include "app.hpp"

namespace tickflow::server {

int serve(const ServeOptions& options);

}  // namespace tickflow::server
