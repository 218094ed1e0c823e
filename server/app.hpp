// Everything `tickflow serve` answers with, assembled from its options: the journal
// (replayed here), the statistics service, health, metrics and the API docs, behind one
// Router. The HTTP layer (serve.cpp) only moves requests and responses between sockets and
// App::router; tests drive the same App without sockets.
//
// Later features (standing queries, SPEC §13) add their own routes to the same router.
#pragma once

#include <asio/io_context.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api.hpp"
#include "journal.hpp"
#include "metrics.hpp"
#include "router.hpp"
#include "stats_service.hpp"

namespace tickflow::server {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8000;
  size_t threads = 0;  // 0 = one per core
  Limits limits;
  std::optional<std::string> journal_dir;
  FsyncPolicy fsync = FsyncPolicy::interval;
};

class App {
 public:
  // Replays the journal (throws JournalError on damage). `log` receives lines for stderr:
  // journal notes and one line per error response (the access errors).
  App(asio::io_context& io, const ServeOptions& options, std::function<void(std::string)> log);
  ~App();

  Router& router() { return router_; }
  StatsService& stats() { return *stats_; }
  Metrics& metrics() { return metrics_; }
  // Syncs every journal file (at shutdown, after the last request).
  void flush();

 private:
  std::function<void(std::string)> log_;
  Metrics metrics_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<StatsService> stats_;
  Router router_;
};

}  // namespace tickflow::server
