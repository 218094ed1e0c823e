// Everything `tickflow serve` answers with, assembled from its options: the journal
// (replayed here), the statistics service, health, metrics and the API docs, behind one
// Router. The HTTP layer (serve.cpp) only moves requests and responses between sockets and
// App::router; tests drive the same App without sockets.
//
// Later features (standing queries, SPEC §13) add their own routes to the same router.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api.hpp"
#include "journal.hpp"
#include "metrics.hpp"
#include "query_service.hpp"
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
  // Standing queries (SPEC §13): loaded at start-up (with the file each came from), and
  // the EPs that queries registered later may use.
  std::vector<std::pair<std::shared_ptr<const Query>, std::string>> queries;
  const Registry* registry = nullptr;
  QueryLimits query_limits;
};

class App {
 public:
  // Replays the journal (throws JournalError on damage) and starts the standing queries
  // (throws RuntimeError or UsageError when one cannot start). `log` receives lines for stderr:
  // journal notes and one line per error response (the access errors).
  App(asio::io_context& io, const ServeOptions& options, std::function<void(std::string)> log);
  ~App();

  Router& router() { return router_; }
  StatsService& stats() { return *stats_; }
  Metrics& metrics() { return metrics_; }
  QueryService& queries() { return *queries_; }
  // Syncs every journal file (at shutdown, after the last request).
  void flush();
  // Keeps idle query streams open from now on (the HTTP layer closes a response that is
  // silent for too long): a keep-alive every 20 s until stop_queries(). The server calls it;
  // code that runs the io_context until it has no work (tests) does not.
  void start_heartbeat();
  // Stops the standing queries (at shutdown, before the connections close): their EPs
  // emit what they hold and their streams end.
  void stop_queries();

 private:
  std::function<void(std::string)> log_;
  Metrics metrics_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<Journal> query_journal_;  // DIR/queries: pushes to standing queries
  std::unique_ptr<StatsService> stats_;
  std::unique_ptr<QueryService> queries_;
  Router router_;
  asio::steady_timer heartbeat_;
};

}  // namespace tickflow::server
