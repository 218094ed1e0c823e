#include "app.hpp"

#include <fmt/format.h>

#include "docs_routes.hpp"

namespace tickflow::server {

namespace {
// Well below serve.cpp's handle-request timeout (120 s), which also limits a silent stream.
constexpr auto kHeartbeatPeriod = std::chrono::seconds(20);
}  // namespace

App::App(asio::io_context& io, const ServeOptions& options, std::function<void(std::string)> log)
    : log_(std::move(log)), heartbeat_(io) {
  if (options.journal_dir) {
    // The service needs the journal and replay needs the service: replay into a service
    // created without a journal reference, then hand it the journal.
    auto replaying = std::make_unique<StatsService>(io, options.limits, nullptr, metrics_);
    journal_ = std::make_unique<Journal>(
        *options.journal_dir, options.fsync,
        [&](const std::string& symbol, std::span<const double> values) {
          replaying->replay(symbol, values);
        },
        log_);
    stats_ = std::move(replaying);
    stats_->attach_journal(journal_.get());
  } else {
    stats_ = std::make_unique<StatsService>(io, options.limits, nullptr, metrics_);
  }

  stats_->add_routes(router_);
  queries_ = std::make_unique<QueryService>(io, options.registry, options.query_limits);
  for (const auto& [query, source] : options.queries) queries_->add(query, source);
  if (options.journal_dir) {
    query_journal_ = std::make_unique<Journal>(
        *options.journal_dir + "/queries", options.fsync,
        [&](const std::string& query, std::span<const double> words) {
          queries_->replay(query, words, log_);
        },
        log_, JournalWords::raw);
    queries_->attach_journal(query_journal_.get());
  }
  queries_->add_routes(router_);
  router_.add("GET", "/health", [](auto, Responder respond) {
    respond(HttpResponse::json(200, R"({"status": "ok"})"));
  });
  router_.add("GET", "/metrics", [this](auto, Responder respond) {
    HttpResponse response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = metrics_.render({
        {"tickflow_symbols Symbols holding values.", double(stats_->symbol_count())},
        {"tickflow_values_held Values held over all symbols.", double(stats_->values_held())},
        {"tickflow_memory_bytes Bytes held by the symbols' power trees.",
         double(stats_->memory_bytes())},
        {"tickflow_standing_queries Standing queries served.", double(queries_->size())},
    });
    respond(std::move(response));
  });
  add_docs_routes(router_);

  router_.on_response([this](const HttpRequest& request, std::string_view route,
                             const HttpResponse& response, auto elapsed) {
    metrics_.record_response(route, response.status, elapsed);
    if (response.status >= 400) {
      log_(fmt::format("{} {} {} -> {} {}", request.method, request.path,
                       request.body.empty() ? "" : fmt::format("({} bytes)", request.body.size()),
                       response.status, response.body));
    }
  });
}

App::~App() = default;

void App::start_heartbeat() {
  heartbeat_.expires_after(kHeartbeatPeriod);
  heartbeat_.async_wait([this](const std::error_code& error) {
    if (error) return;
    queries_->heartbeat();
    start_heartbeat();
  });
}

void App::stop_queries() {
  heartbeat_.cancel();
  queries_->stop_all();
}

void App::flush() {
  if (journal_) journal_->sync_all();
  if (query_journal_) query_journal_->sync_all();
}

}  // namespace tickflow::server
