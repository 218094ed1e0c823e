// The rolling-statistics routes of `tickflow serve` (SPEC §12): POST /add_batch/ and
// GET /stats/, over one Series per symbol.
//
// Concurrency: a request is parsed and validated on whichever thread received it (so large
// bodies of different requests parse in parallel); the work on the symbol then runs on that
// symbol's asio strand. Requests for one symbol are thus applied one after another in
// arrival order, requests for different symbols in parallel, and a request waiting for its
// symbol holds no thread: it is a queued handler. A reader never sees part of a batch. The
// response is handed to the HTTP layer, which writes it asynchronously: a slow client holds
// no strand and no lock.
#pragma once

#include <asio/io_context.hpp>
#include <asio/strand.hpp>

#include <atomic>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "api.hpp"
#include "journal.hpp"
#include "metrics.hpp"
#include "router.hpp"
#include "series.hpp"

namespace tickflow::server {

class StatsService {
 public:
  // `journal` may be null (state in memory only); it must outlive the service.
  StatsService(asio::io_context& io, Limits limits, Journal* journal, Metrics& metrics);

  void add_routes(Router& router);
  // Journals every batch accepted from now on (set after replay, before serving).
  void attach_journal(Journal* journal) { journal_ = journal; }

  // Applies a journaled batch at start-up (before any request), without journaling it again.
  // Throws JournalError when the journal holds more symbols than --max-symbols allows.
  void replay(const std::string& symbol, std::span<const double> values);

  size_t symbol_count() const;
  uint64_t values_held() const;
  int64_t memory_bytes() const;

 private:
  struct Symbol {
    Symbol(asio::io_context& io, int max_k)
        : strand(asio::make_strand(io)), series(max_k), responses(static_cast<size_t>(max_k)) {}
    asio::strand<asio::io_context::executor_type> strand;
    Series series;  // touched only on `strand`
    // The response body per k (index k - 1), written on the first read after a push.
    std::vector<std::string> responses;
    // Read by /metrics from other threads.
    std::atomic<uint64_t> held{0};
    std::atomic<int64_t> memory{0};
  };

  void add_batch(std::shared_ptr<HttpRequest> request, Responder respond);
  void stats(std::shared_ptr<HttpRequest> request, Responder respond);
  Symbol* find(const std::string& symbol) const;
  // The symbol, created when new; null when a new symbol would exceed --max-symbols.
  Symbol* find_or_create(const std::string& symbol);
  void apply(Symbol& symbol, std::span<const double> values);

  asio::io_context& io_;
  Limits limits_;
  Journal* journal_;
  Metrics& metrics_;
  mutable std::shared_mutex mutex_;  // guards symbols_ (the map, not the symbols)
  std::unordered_map<std::string, std::unique_ptr<Symbol>> symbols_;
};

}  // namespace tickflow::server
