// One standing query of `tickflow serve` (SPEC §13): its push feeds and one StandingRun per
// symbol, the ticks of its output nodes as JSON lines, the last ticks per output and symbol
// (GET .../latest) and the subscribers of GET .../stream.
//
// Concurrency: one mutex per query serializes pushes, advances, reads and subscriptions,
// so a reader never sees part of a request and requests apply in arrival order; a body is
// decoded under it too, with the receipt time taken there, so that ticks stamped on receipt
// are in order. Different queries run in parallel. Output goes to subscribers through
// bounded ResponseStreams, which never block: a slow subscriber costs the query nothing.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "api.hpp"
#include "journal.hpp"
#include "query_journal.hpp"
#include "response_stream.hpp"
#include "sources/push_body.hpp"
#include "tickflow/query.hpp"
#include "tickflow/standing.hpp"
#include "tickflow/tick_writer.hpp"
#include "tickflow/time.hpp"

namespace tickflow::server {

struct QueryLimits {
  size_t max_latest = 1000;  // ticks kept per output and symbol; largest n of /latest
  size_t stream_buffer_bytes = size_t{4} << 20;  // per subscriber, waiting for the socket
};

class StandingQuery {
 public:
  // Starts a run per symbol; throws RuntimeError when one cannot start.
  StandingQuery(std::shared_ptr<const Query> query, std::string source, QueryLimits limits);
  ~StandingQuery();

  const std::string& name() const { return query_->name; }
  // The query's `tz:`: times without an offset in requests are read in it.
  const TimeZone& time_zone() const { return zone_; }

  struct PushAccepted {
    size_t ticks = 0;
    int64_t passed = 0;
  };
  // Applies a request body to push node `node` (symbol "" in a query without symbols).
  std::variant<PushAccepted, ApiError> push(const std::string& node, const std::string& symbol,
                                            eps::PushFormat format, std::string_view body);
  // Moves the time of push node `node` to `time` for `symbol`, or for every symbol when
  // `symbol` is empty in a query with symbols.
  std::optional<ApiError> advance(const std::string& node, const std::string& symbol, int64_t time);
  // The last `n` ticks of output `output` ("": the only one) for `symbol`, JSON lines.
  std::variant<std::string, ApiError> latest(std::string output, const std::string& symbol,
                                             size_t n);
  // Streams the output ticks from now on: every output or one (`output`), every symbol or
  // one; JSON lines, or server-sent events (event name = the output).
  std::optional<ApiError> subscribe(std::shared_ptr<ResponseStream> stream,
                                    const std::string& output, const std::string& symbol, bool sse);
  // Keeps the subscriptions open while no tick comes: ": keep-alive" for SSE, an empty
  // line for JSON lines (readers of JSON lines skip empty lines).
  void heartbeat();
  // The query's description for GET /v1/queries (a JSON object).
  std::string describe();
  // How a query stops: DELETE ends it for good (the EPs emit what they hold, as at the end
  // of a batch run, and its journal is deleted); a shutdown with a journal only ends the
  // streams, since a restart replays the journal and the query goes on.
  enum class Stop { End, Suspend };
  // Returns the description as it was at the end.
  std::string stop(Stop how = Stop::End);

  // Journals every push and advance accepted from now on (before it is applied; a failed
  // write is a 503 and applies nothing).
  void attach_journal(Journal* journal) { journal_ = journal; }
  // Applies a journaled record at start-up, without journaling it again. Throws JournalError
  // when the record does not apply (the journal does not belong to this query).
  void replay(const QueryRecord& record);

  // Checks of request parameters, shared by the routes (nullopt when fine).
  std::optional<ApiError> check_symbol(const std::string& symbol) const;
  std::optional<ApiError> check_output(const std::string& output) const;
  std::optional<ApiError> check_push_node(const std::string& node) const;

 private:
  struct Output {
    size_t index;  // in Query::outputs
    std::string name;
  };
  struct Symbol;
  struct Subscriber {
    std::shared_ptr<ResponseStream> stream;
    std::optional<size_t> output;  // in Query::outputs; none: all
    std::string symbol;            // "" : all
    bool sse = false;
  };

  Symbol* find_symbol(const std::string& symbol);
  size_t push_index(const std::string& node) const;
  // With mutex_ held: journals `record` (when a journal is attached).
  std::optional<ApiError> journal(const QueryRecord& record);
  // With mutex_ held: appends decoded ticks to a feed and runs the symbol's graph.
  std::optional<ApiError> apply_push(size_t k, Symbol& target, const Batch& ticks);
  std::optional<ApiError> apply_advance(size_t k, const std::vector<Symbol*>& targets,
                                        int64_t time);
  void on_output(size_t output, Symbol& symbol, const Batch& batch);
  void fail(const RuntimeError& error);
  std::optional<ApiError> failed_error() const;
  // Ends every subscription with a last piece per kind.
  void end_streams(const std::string& sse_last, const std::string& jsonl_last);

  std::shared_ptr<const Query> query_;
  TimeZone zone_;  // the query's tz: times in push bodies without an offset are read in it
  std::string source_;
  QueryLimits limits_;
  Plan plan_;
  std::vector<size_t> push_nodes_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Symbol>> symbols_;
  std::vector<Subscriber> subscribers_;
  Journal* journal_ = nullptr;
  int64_t last_receipt_ = 0;          // receipt times never go back, even when the clock does
  std::optional<std::string> error_;  // the run failed: its error
  bool stopped_ = false;
};

// "text/csv" → CSV, "application/x-ndjson" (or jsonl / json-lines) → JSON lines; no or a
// form content type: JSON lines when the body starts with '{', else CSV; nullopt for others.
std::optional<eps::PushFormat> push_format(std::string_view content_type, std::string_view body);

}  // namespace tickflow::server
