#include "query_service.hpp"

#include <fmt/format.h>

#include <asio/post.hpp>

#include <charconv>
#include <filesystem>
#include <initializer_list>
#include <mutex>

#include "tickflow/time.hpp"

namespace tickflow::server {
namespace {

// Request bodies of pushes: whole days of ticks fit; the transport refuses far larger ones.
constexpr size_t kMaxPushBodyBytes = size_t{32} << 20;
constexpr size_t kMaxQueryBodyBytes = size_t{1} << 20;
constexpr size_t kDefaultLatest = 10;

using Params = std::map<std::string, std::string>;

std::string json_quoted(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

HttpResponse refuse(const ApiError& error) {
  return HttpResponse::error(error.status, error.message);
}

std::string path_param(const HttpRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.path_params) {
    if (key == name) return value;
  }
  return {};
}

// The query parameters of `request` by name; 400 for one not in `allowed`, or repeated.
std::optional<ApiError> read_params(const HttpRequest& request,
                                    std::initializer_list<std::string_view> allowed, Params& out) {
  for (const auto& [name, value] : request.query) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return ApiError{400, fmt::format("unknown query parameter {}: {} takes {}", json_quoted(name),
                                       request.path,
                                       allowed.size() ? fmt::format("{}", fmt::join(allowed, ", "))
                                                      : std::string("none"))};
    }
    if (!out.emplace(name, value).second) {
      return ApiError{400, fmt::format("query parameter {} appears twice", name)};
    }
  }
  return std::nullopt;
}

std::string param_or(const Params& params, const std::string& name, std::string fallback = {}) {
  auto it = params.find(name);
  return it == params.end() ? fallback : it->second;
}

bool valid_query_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) {
      return false;
    }
  }
  return true;
}

}  // namespace

QueryService::QueryService(asio::io_context& io, const Registry* registry, QueryLimits limits)
    : io_(io), registry_(registry), limits_(limits) {}

void QueryService::add(std::shared_ptr<const Query> query, const std::string& source) {
  auto standing = std::make_shared<StandingQuery>(std::move(query), source, limits_);
  std::unique_lock lock(mutex_);
  if (queries_.count(standing->name())) {
    throw UsageError(
        fmt::format("{}: a query named '{}' is already served", source, standing->name()));
  }
  queries_.emplace(standing->name(), std::move(standing));
}

size_t QueryService::size() const {
  std::shared_lock lock(mutex_);
  return queries_.size();
}

std::shared_ptr<StandingQuery> QueryService::find(const std::string& name) const {
  std::shared_lock lock(mutex_);
  auto it = queries_.find(name);
  return it == queries_.end() ? nullptr : it->second;
}

void QueryService::stop_all() {
  std::map<std::string, std::shared_ptr<StandingQuery>> queries;
  {
    std::unique_lock lock(mutex_);
    queries.swap(queries_);
  }
  for (auto& [name, query] : queries) {
    query->stop(journal_ ? StandingQuery::Stop::Suspend : StandingQuery::Stop::End);
  }
}

void QueryService::heartbeat() {
  std::vector<std::shared_ptr<StandingQuery>> queries;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [name, query] : queries_) queries.push_back(query);
  }
  for (auto& query : queries) query->heartbeat();
}

void QueryService::attach_journal(Journal* journal) {
  std::unique_lock lock(mutex_);
  journal_ = journal;
  for (auto& [name, query] : queries_) query->attach_journal(journal);
}

void QueryService::replay(const std::string& query, std::span<const double> words,
                          const std::function<void(std::string)>& log) {
  auto standing = find(query);
  if (!standing) {
    // A query registered over HTTP, or one no longer given on the command line.
    log(fmt::format("journal: records of query '{}' skipped: it is not served", query));
    return;
  }
  auto record = decode_query_record(words);
  if (!record) {
    throw JournalError(fmt::format("journal of query {}: damaged record (not a push or advance)",
                                   json_quoted(query)));
  }
  standing->replay(*record);
}

void QueryService::add_routes(Router& router) {
  auto route = [this](void (QueryService::*handler)(const HttpRequest&, Responder)) {
    return [this, handler](std::shared_ptr<HttpRequest> request, Responder respond) {
      asio::post(io_, [this, handler, request = std::move(request),
                       respond = std::move(respond)]() mutable {
        try {
          (this->*handler)(*request, respond);
        } catch (const std::exception& e) {
          respond(HttpResponse::error(500, std::string("internal error: ") + e.what()));
        }
      });
    };
  };
  router.add("GET", "/v1/queries", route(&QueryService::list));
  router.add("POST", "/v1/queries", route(&QueryService::create));
  router.add("GET", "/v1/queries/{query}", route(&QueryService::describe));
  router.add("DELETE", "/v1/queries/{query}", route(&QueryService::remove));
  router.add("POST", "/v1/queries/{query}/push/{node}", route(&QueryService::push));
  router.add("POST", "/v1/queries/{query}/advance/{node}", route(&QueryService::advance));
  router.add("GET", "/v1/queries/{query}/latest", route(&QueryService::latest));
  router.add("GET", "/v1/queries/{query}/stream", route(&QueryService::stream));
}

void QueryService::describe(const HttpRequest& request, Responder respond) {
  auto query = find(path_param(request, "query"));
  if (!query) {
    return respond(
        HttpResponse::error(404, "no query named " + json_quoted(path_param(request, "query"))));
  }
  respond(HttpResponse::json(200, query->describe()));
}

void QueryService::list(const HttpRequest&, Responder respond) {
  std::vector<std::shared_ptr<StandingQuery>> queries;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [name, query] : queries_) queries.push_back(query);
  }
  std::string out = R"({"queries": [)";
  for (size_t i = 0; i < queries.size(); ++i) out += (i ? ", " : "") + queries[i]->describe();
  respond(HttpResponse::json(200, out + "]}"));
}

void QueryService::create(const HttpRequest& request, Responder respond) {
  Params params;
  if (auto problem = read_params(request, {"name"}, params)) return respond(refuse(*problem));
  if (request.body.size() > kMaxQueryBodyBytes) {
    return respond(
        HttpResponse::error(413, fmt::format("query body is over {} bytes", kMaxQueryBodyBytes)));
  }
  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return respond(HttpResponse::error(400, "the body must be a query file (YAML)"));
  }
  Diagnostics diags;
  std::unique_ptr<Query> loaded;
  try {
    loaded = load_query_text(request.body, "posted-query.yaml", *registry_, {}, diags);
  } catch (const std::exception& e) {
    diags.error({}, e.what());
  }
  if (!loaded || diags.has_errors()) {
    std::string out = R"({"error": "the query does not load", "diagnostics": [)";
    for (size_t i = 0; i < diags.items().size(); ++i) {
      out += (i ? ", " : "") + json_quoted(diags.items()[i].to_string());
    }
    return respond(HttpResponse::json(422, out + "]}"));
  }
  if (auto name = params.find("name"); name != params.end()) loaded->name = name->second;
  if (loaded->name.empty()) {
    return respond(HttpResponse::error(
        422,
        "the query needs a name: give `name:` in the YAML or ?name= (it addresses the "
        "query in /v1/queries/{query}/...)"));
  }
  if (!valid_query_name(loaded->name)) {
    return respond(HttpResponse::error(
        422, fmt::format("query name {} must be 1..128 letters, digits, '_', '-' or '.'",
                         json_quoted(loaded->name))));
  }
  std::shared_ptr<StandingQuery> standing;
  try {
    standing = std::make_shared<StandingQuery>(std::move(loaded), "POST /v1/queries", limits_);
  } catch (const RuntimeError& e) {
    return respond(HttpResponse::error(422, "the query cannot start: " + e.describe()));
  }
  {
    std::unique_lock lock(mutex_);
    if (!queries_.emplace(standing->name(), standing).second) {
      lock.unlock();
      standing->stop();
      return respond(HttpResponse::error(
          409, fmt::format("a query named {} is already served: DELETE it first",
                           json_quoted(standing->name()))));
    }
  }
  respond(HttpResponse::json(201, standing->describe()));
}

void QueryService::remove(const HttpRequest& request, Responder respond) {
  Params params;
  if (auto problem = read_params(request, {}, params)) return respond(refuse(*problem));
  const std::string name = path_param(request, "query");
  std::shared_ptr<StandingQuery> query;
  {
    std::unique_lock lock(mutex_);
    auto it = queries_.find(name);
    if (it != queries_.end()) {
      query = std::move(it->second);
      queries_.erase(it);
    }
  }
  if (!query) return respond(HttpResponse::error(404, "no query named " + json_quoted(name)));
  respond(HttpResponse::json(200, query->stop()));
}

void QueryService::push(const HttpRequest& request, Responder respond) {
  Params params;
  if (auto problem = read_params(request, {"symbol"}, params)) return respond(refuse(*problem));
  auto query = find(path_param(request, "query"));
  if (!query) {
    return respond(
        HttpResponse::error(404, "no query named " + json_quoted(path_param(request, "query"))));
  }
  if (request.body.size() > kMaxPushBodyBytes) {
    return respond(HttpResponse::error(
        413, fmt::format("push body is {} bytes; at most {} bytes are taken per request",
                         request.body.size(), kMaxPushBodyBytes)));
  }
  const auto format = push_format(request.content_type, request.body);
  if (!format) {
    return respond(HttpResponse::error(
        415, fmt::format("content type {} is neither text/csv nor application/x-ndjson",
                         json_quoted(request.content_type))));
  }
  const std::string node = path_param(request, "node");
  const std::string symbol = param_or(params, "symbol");
  auto result = query->push(node, symbol, *format, request.body);
  if (auto* error = std::get_if<ApiError>(&result)) return respond(refuse(*error));
  const auto& accepted = std::get<StandingQuery::PushAccepted>(result);
  respond(HttpResponse::json(
      200, fmt::format(R"({{"query": {}, "node": {}, "symbol": {}, "ticks": {}, "passed": {}}})",
                       json_quoted(query->name()), json_quoted(node), json_quoted(symbol),
                       accepted.ticks,
                       accepted.ticks || accepted.passed != LiveFeed::kNoTime
                           ? json_quoted(format_time(accepted.passed))
                           : "null")));
}

void QueryService::advance(const HttpRequest& request, Responder respond) {
  Params params;
  if (auto problem = read_params(request, {"to", "symbol"}, params)) {
    return respond(refuse(*problem));
  }
  auto query = find(path_param(request, "query"));
  if (!query) {
    return respond(
        HttpResponse::error(404, "no query named " + json_quoted(path_param(request, "query"))));
  }
  auto to = params.find("to");
  if (to == params.end()) {
    return respond(HttpResponse::error(400, "query parameter to (the time passed) is missing"));
  }
  const auto time = query->time_zone().parse(to->second);
  if (!time) {
    return respond(HttpResponse::error(
        400, fmt::format("to = {} is not a time (\"2024-01-02 09:30:00\", ISO-8601 or integer "
                         "nanoseconds){}",
                         json_quoted(to->second), time_range_hint(to->second))));
  }
  const std::string node = path_param(request, "node");
  const std::string symbol = param_or(params, "symbol");
  if (auto problem = query->advance(node, symbol, *time)) return respond(refuse(*problem));
  respond(HttpResponse::json(
      200, fmt::format(R"({{"query": {}, "node": {}, "symbol": {}, "passed": {}}})",
                       json_quoted(query->name()), json_quoted(node), json_quoted(symbol),
                       json_quoted(format_time(*time)))));
}

void QueryService::latest(const HttpRequest& request, Responder respond) {
  Params params;
  if (auto problem = read_params(request, {"node", "symbol", "n"}, params)) {
    return respond(refuse(*problem));
  }
  auto query = find(path_param(request, "query"));
  if (!query) {
    return respond(
        HttpResponse::error(404, "no query named " + json_quoted(path_param(request, "query"))));
  }
  size_t n = kDefaultLatest;
  if (auto it = params.find("n"); it != params.end()) {
    const std::string& text = it->second;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
      return respond(HttpResponse::error(
          400, fmt::format("n = {} is not a non-negative integer", json_quoted(text))));
    }
  }
  auto result = query->latest(param_or(params, "node"), param_or(params, "symbol"), n);
  if (auto* error = std::get_if<ApiError>(&result)) return respond(refuse(*error));
  HttpResponse response;
  response.content_type = "application/x-ndjson";
  response.body = std::move(std::get<std::string>(result));
  respond(std::move(response));
}

void QueryService::stream(const HttpRequest& request, Responder respond) {
  Params params;
  if (auto problem = read_params(request, {"node", "symbol"}, params)) {
    return respond(refuse(*problem));
  }
  auto query = find(path_param(request, "query"));
  if (!query) {
    return respond(
        HttpResponse::error(404, "no query named " + json_quoted(path_param(request, "query"))));
  }
  const bool sse = request.accept.find("text/event-stream") != std::string::npos;
  const std::string overflow = fmt::format(
      "subscriber fell behind: more than {} bytes were waiting to be sent; disconnected",
      limits_.stream_buffer_bytes);
  auto stream = std::make_shared<ResponseStream>(
      limits_.stream_buffer_bytes,
      sse ? "event: error\ndata: " + error_json(overflow) + "\n\n" : error_json(overflow) + "\n");
  if (auto problem =
          query->subscribe(stream, param_or(params, "node"), param_or(params, "symbol"), sse)) {
    return respond(refuse(*problem));
  }
  HttpResponse response;
  response.content_type = sse ? "text/event-stream" : "application/x-ndjson";
  response.stream = std::move(stream);
  respond(std::move(response));
}

}  // namespace tickflow::server
