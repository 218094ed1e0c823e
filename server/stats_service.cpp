#include "stats_service.hpp"

#include <fmt/format.h>
#include <asio/post.hpp>

#include <mutex>

namespace tickflow::server {

namespace {

HttpResponse never_pushed(const std::string& symbol) {
  return HttpResponse::error(404, fmt::format("symbol \"{}\" was never pushed", symbol));
}

}  // namespace

StatsService::StatsService(asio::io_context& io, Limits limits, Journal* journal, Metrics& metrics)
    : io_(io), limits_(limits), journal_(journal), metrics_(metrics) {}

void StatsService::add_routes(Router& router) {
  router.add("POST", "/add_batch/", [this](auto request, auto respond) {
    add_batch(std::move(request), std::move(respond));
  });
  router.add("GET", "/stats/",
             [this](auto request, auto respond) { stats(std::move(request), std::move(respond)); });
}

StatsService::Symbol* StatsService::find(const std::string& symbol) const {
  std::shared_lock lock(mutex_);
  const auto it = symbols_.find(symbol);
  return it == symbols_.end() ? nullptr : it->second.get();
}

StatsService::Symbol* StatsService::find_or_create(const std::string& symbol) {
  if (Symbol* found = find(symbol)) return found;
  std::unique_lock lock(mutex_);
  auto& slot = symbols_[symbol];
  if (!slot) {
    if (symbols_.size() > limits_.max_symbols) {
      symbols_.erase(symbol);
      return nullptr;
    }
    slot = std::make_unique<Symbol>(io_, limits_.max_k);
  }
  return slot.get();
}

void StatsService::apply(Symbol& symbol, std::span<const double> values) {
  symbol.series.append(values);
  for (auto& response : symbol.responses) response.clear();
  symbol.held.store(symbol.series.held(), std::memory_order_relaxed);
  symbol.memory.store(symbol.series.memory_bytes(), std::memory_order_relaxed);
}

void StatsService::replay(const std::string& symbol, std::span<const double> values) {
  Symbol* entry = find_or_create(symbol);
  if (!entry) {
    throw JournalError(fmt::format(
        "the journal holds more than --max-symbols {} symbols (at symbol \"{}\"); start with a "
        "larger --max-symbols",
        limits_.max_symbols, symbol));
  }
  apply(*entry, values);
}

void StatsService::add_batch(std::shared_ptr<HttpRequest> request, Responder respond) {
  if (request->body.size() > limits_.max_body_bytes) {
    return respond(
        HttpResponse::error(413, fmt::format("body of {} bytes is over the limit of {} bytes",
                                             request->body.size(), limits_.max_body_bytes)));
  }
  auto batch = std::make_shared<AddBatch>();
  if (auto problem = parse_add_batch(request->body, limits_, *batch)) {
    return respond(HttpResponse::error(problem->status, problem->message));
  }
  Symbol* symbol = find_or_create(batch->symbol);
  if (!symbol) {
    return respond(HttpResponse::error(
        422, fmt::format("symbol \"{}\" would be symbol number {}; --max-symbols is {}",
                         batch->symbol, limits_.max_symbols + 1, limits_.max_symbols)));
  }
  asio::post(symbol->strand, [this, symbol, batch, respond = std::move(respond)] {
    if (journal_) {
      try {
        journal_->file_for(batch->symbol).append(batch->values);
      } catch (const JournalError& e) {
        return respond(HttpResponse::error(
            503, fmt::format("the batch was not stored (nothing applied): {}", e.what())));
      }
    }
    apply(*symbol, batch->values);
    metrics_.add_values_ingested(batch->values.size());
    respond(HttpResponse::json(
        200, add_batch_json(batch->symbol, batch->values.size(), symbol->series.held())));
  });
}

void StatsService::stats(std::shared_ptr<HttpRequest> request, Responder respond) {
  StatsQuery query;
  if (auto problem = parse_stats_query(request->query, limits_, query)) {
    return respond(HttpResponse::error(problem->status, problem->message));
  }
  Symbol* symbol = find(query.symbol);
  if (!symbol) return respond(never_pushed(query.symbol));
  asio::post(symbol->strand, [symbol, query, respond = std::move(respond)] {
    if (symbol->series.held() == 0) return respond(never_pushed(query.symbol));
    // The JSON is kept until the next push: repeated reads cost a copy, not a formatting.
    auto& body = symbol->responses[static_cast<size_t>(query.k - 1)];
    if (body.empty()) body = stats_json(query.symbol, query.k, symbol->series.stats(query.k));
    respond(HttpResponse::json(200, body));
  });
}

size_t StatsService::symbol_count() const {
  std::shared_lock lock(mutex_);
  size_t n = 0;
  for (const auto& [name, symbol] : symbols_) n += symbol->held.load(std::memory_order_relaxed) > 0;
  return n;
}

uint64_t StatsService::values_held() const {
  std::shared_lock lock(mutex_);
  uint64_t n = 0;
  for (const auto& [name, symbol] : symbols_) n += symbol->held.load(std::memory_order_relaxed);
  return n;
}

int64_t StatsService::memory_bytes() const {
  std::shared_lock lock(mutex_);
  int64_t n = 0;
  for (const auto& [name, symbol] : symbols_) n += symbol->memory.load(std::memory_order_relaxed);
  return n;
}

}  // namespace tickflow::server
