// The routes of standing queries (SPEC §13, §18) over the StandingQuery objects:
//
//   GET    /v1/queries                              every query: nodes, schemas, tick counts
//   POST   /v1/queries[?name=N]                     register a query (YAML body)
//   GET    /v1/queries/{query}                      one query
//   DELETE /v1/queries/{query}                      stop it: sources end, EPs flush, streams end
//   POST   /v1/queries/{query}/push/{node}[?symbol=S]          ticks (CSV or JSON lines)
//   POST   /v1/queries/{query}/advance/{node}?to=T[&symbol=S]  the source passed T
//   GET    /v1/queries/{query}/latest[?node=N&symbol=S&n=10]   the last n output ticks
//   GET    /v1/queries/{query}/stream[?node=N&symbol=S]        output ticks from now on
//
// Statuses: 400 a malformed request (bad parameter, unparseable time, missing symbol),
// 404 unknown query, node, output or symbol, 409 a name already registered or a query that
// failed, 413 a body over the limit, 415 a body type that is neither CSV nor JSON lines,
// 422 a request that cannot be applied (a query that does not load, a malformed or late
// tick, a time earlier than the source has passed), 500 the query failed on the ticks.
#pragma once

#include <asio/io_context.hpp>

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>

#include "router.hpp"
#include "standing_query.hpp"
#include "tickflow/registry.hpp"

namespace tickflow::server {

class QueryService {
 public:
  // `registry` (the EPs that registered queries may use) must outlive the service. Requests
  // are handled as handlers posted to `io` (as the statistics service's are), not inside
  // the HTTP layer's call.
  QueryService(asio::io_context& io, const Registry* registry, QueryLimits limits);

  // Registers a query loaded at start-up (`source`: its file). Throws RuntimeError when its
  // runs cannot start, UsageError for a name already taken.
  void add(std::shared_ptr<const Query> query, const std::string& source);
  void add_routes(Router& router);
  // Stops every query at shutdown: with a journal the streams just end (a restart goes on
  // from the journal), without one the queries end as on DELETE.
  void stop_all();
  // Writes a keep-alive to every subscriber: an SSE comment, or an empty JSON line.
  void heartbeat();
  // Journals the pushes and advances of the queries loaded at start-up (`journal` outlives
  // the service; queries registered over HTTP are not journaled); replays records at
  // start-up into the query they name.
  void attach_journal(Journal* journal);
  void replay(const std::string& query, std::span<const double> words,
              const std::function<void(std::string)>& log);
  size_t size() const;

 private:
  std::shared_ptr<StandingQuery> find(const std::string& name) const;
  void list(const HttpRequest& request, Responder respond);
  void describe(const HttpRequest& request, Responder respond);
  void create(const HttpRequest& request, Responder respond);
  void remove(const HttpRequest& request, Responder respond);
  void push(const HttpRequest& request, Responder respond);
  void advance(const HttpRequest& request, Responder respond);
  void latest(const HttpRequest& request, Responder respond);
  void stream(const HttpRequest& request, Responder respond);

  asio::io_context& io_;
  const Registry* registry_;
  QueryLimits limits_;
  Journal* journal_ = nullptr;
  mutable std::shared_mutex mutex_;  // guards queries_ (the map, not the queries)
  std::map<std::string, std::shared_ptr<StandingQuery>> queries_;
};

}  // namespace tickflow::server
