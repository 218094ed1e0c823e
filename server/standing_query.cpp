#include "standing_query.hpp"

#include <fmt/format.h>

#include <chrono>

#include "tickflow/time.hpp"

namespace tickflow::server {

struct StandingQuery::Symbol {
  std::string name;
  std::vector<std::unique_ptr<LiveFeed>> feeds;  // per push node (push_nodes_ order)
  LiveFeeds live;
  std::vector<std::unique_ptr<OutputFile>> files;  // per output: formatted ticks
  std::vector<std::unique_ptr<TickWriter>> writers;
  std::vector<std::deque<std::string>> latest;  // per output: the last ticks, JSON lines
  std::vector<uint64_t> ticks_out;              // per output
  std::unique_ptr<StandingRun> run;             // last: destroyed before what it reads
};

namespace {

ApiError unprocessable(std::string message) {
  return ApiError{422, std::move(message)};
}

int64_t now_nanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string json_quoted(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

std::string time_json(int64_t time) {
  return time == LiveFeed::kNoTime ? "null" : json_quoted(format_time(time));
}

std::string schema_json(const Schema& schema) {
  std::string out = R"([{"name": "TIMESTAMP", "type": "time"})";
  for (const Field& field : schema.fields()) {
    fmt::format_to(std::back_inserter(out), R"(, {{"name": {}, "type": "{}"}})",
                   json_quoted(field.name), type_name(field.type));
  }
  return out + "]";
}

std::string sse_event(std::string_view event, std::string_view data) {
  return fmt::format("event: {}\ndata: {}\n\n", event, data);
}

}  // namespace

std::optional<eps::PushFormat> push_format(std::string_view content_type, std::string_view body) {
  const std::string_view type = content_type.substr(0, content_type.find(';'));
  if (type == "text/csv") return eps::PushFormat::Csv;
  if (type == "application/x-ndjson" || type == "application/jsonl" ||
      type == "application/json-lines" || type == "application/x-jsonlines") {
    return eps::PushFormat::JsonLines;
  }
  if (type.empty() || type == "application/x-www-form-urlencoded") {
    const size_t first = body.find_first_not_of(" \t\r\n");
    return first != std::string_view::npos && body[first] == '{' ? eps::PushFormat::JsonLines
                                                                 : eps::PushFormat::Csv;
  }
  return std::nullopt;
}

StandingQuery::StandingQuery(std::shared_ptr<const Query> query, std::string source,
                             QueryLimits limits)
    : query_(std::move(query)),
      zone_(query_zone(query_->info)),
      source_(std::move(source)),
      limits_(limits),
      plan_(plan_query(*query_)) {
  for (size_t n = 0; n < query_->nodes.size(); ++n) {
    if (query_->nodes[n].ep == "push") push_nodes_.push_back(n);
  }
  std::vector<std::string> names = query_->info.symbols;
  if (names.empty()) names.push_back("");
  const bool with_symbols = !query_->info.symbols.empty();
  for (const std::string& name : names) {
    auto symbol = std::make_unique<Symbol>();
    symbol->name = name;
    for (size_t n : push_nodes_) {
      symbol->feeds.push_back(std::make_unique<LiveFeed>(query_->nodes[n].output_schemas[0]));
      symbol->live.by_node[query_->nodes[n].id] = symbol->feeds.back().get();
    }
    std::vector<OutputTap> taps;
    for (size_t o = 0; o < query_->outputs.size(); ++o) {
      const OutputRef& ref = query_->outputs[o];
      symbol->files.push_back(OutputFile::memory());
      symbol->writers.push_back(std::make_unique<TickWriter>(
          OutputFormat::Jsonl, query_->nodes[ref.node].output_schemas[ref.port],
          *symbol->files.back(), with_symbols ? std::optional<std::string>(name) : std::nullopt));
      if (auto zone = output_zone(query_->info.output_time_zone)) {
        symbol->writers.back()->set_output_zone(*zone);
      }
      Symbol* target = symbol.get();
      taps.push_back({ref.node, ref.port,
                      [this, o, target](const Batch& batch) { on_output(o, *target, batch); },
                      nullptr});
    }
    symbol->latest.resize(query_->outputs.size());
    symbol->ticks_out.assign(query_->outputs.size(), 0);
    RunOptions options;
    options.symbol = name;
    options.time_nodes = false;
    symbol->run =
        std::make_unique<StandingRun>(*query_, plan_, options, std::move(taps), symbol->live);
    symbols_.push_back(std::move(symbol));
  }
}

StandingQuery::~StandingQuery() {
  if (!stopped_) stop(journal_ ? Stop::Suspend : Stop::End);
}

std::optional<ApiError> StandingQuery::check_symbol(const std::string& symbol) const {
  const auto& symbols = query_->info.symbols;
  if (symbols.empty()) {
    if (symbol.empty()) return std::nullopt;
    return ApiError{
        400, fmt::format("query {} runs without symbols: leave out symbol", json_quoted(name()))};
  }
  if (symbol.empty()) {
    return ApiError{400, fmt::format("query {} runs per symbol ({}): give symbol=",
                                     json_quoted(name()), fmt::join(symbols, ", "))};
  }
  if (std::find(symbols.begin(), symbols.end(), symbol) == symbols.end()) {
    return ApiError{404,
                    fmt::format("query {} has no symbol {} (its symbols: {})", json_quoted(name()),
                                json_quoted(symbol), fmt::join(symbols, ", "))};
  }
  return std::nullopt;
}

std::optional<ApiError> StandingQuery::check_output(const std::string& output) const {
  std::vector<std::string> names;
  for (const auto& ref : query_->outputs) {
    if (ref.name == output) return std::nullopt;
    names.push_back(ref.name);
  }
  return ApiError{
      404, fmt::format("query {} has no output node {} (its outputs: {})", json_quoted(name()),
                       json_quoted(output), fmt::join(names, ", "))};
}

std::optional<ApiError> StandingQuery::check_push_node(const std::string& node) const {
  std::vector<std::string> names;
  for (size_t n : push_nodes_) {
    if (query_->nodes[n].id == node) return std::nullopt;
    names.push_back(query_->nodes[n].id);
  }
  const bool exists = query_->find(node) != nullptr;
  return ApiError{404,
                  fmt::format("query {} has {} {}; its push sources: {}", json_quoted(name()),
                              exists ? "no push source" : "no node", json_quoted(node),
                              names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")))};
}

StandingQuery::Symbol* StandingQuery::find_symbol(const std::string& symbol) {
  for (auto& s : symbols_) {
    if (s->name == symbol) return s.get();
  }
  return nullptr;
}

std::optional<ApiError> StandingQuery::failed_error() const {
  if (stopped_) return ApiError{404, fmt::format("query {} was stopped", json_quoted(name()))};
  if (error_) {
    return ApiError{409, fmt::format("query {} failed and takes no more ticks: {}",
                                     json_quoted(name()), *error_)};
  }
  return std::nullopt;
}

void StandingQuery::fail(const RuntimeError& error) {
  error_ = error.describe();
  end_streams(sse_event("error", error_json(*error_)), error_json(*error_) + "\n");
}

size_t StandingQuery::push_index(const std::string& node) const {
  size_t k = 0;
  while (query_->nodes[push_nodes_[k]].id != node) ++k;
  return k;
}

std::optional<ApiError> StandingQuery::journal(const QueryRecord& record) {
  if (!journal_) return std::nullopt;
  try {
    journal_->file_for(name()).append(encode_query_record(record));
  } catch (const JournalError& e) {
    return ApiError{503, std::string(e.what()) + "; nothing was applied"};
  }
  return std::nullopt;
}

std::optional<ApiError> StandingQuery::apply_push(size_t k, Symbol& target, const Batch& ticks) {
  target.feeds[k]->append(ticks);
  try {
    target.run->pump();
  } catch (const RuntimeError& e) {
    fail(e);
    return ApiError{500, "the query failed on these ticks: " + *error_};
  }
  return std::nullopt;
}

std::optional<ApiError> StandingQuery::apply_advance(size_t k, const std::vector<Symbol*>& targets,
                                                     int64_t time) {
  try {
    for (Symbol* s : targets) {
      s->feeds[k]->advance(time);
      s->run->pump();
    }
  } catch (const RuntimeError& e) {
    fail(e);
    return ApiError{500, "the query failed: " + *error_};
  }
  return std::nullopt;
}

std::variant<StandingQuery::PushAccepted, ApiError> StandingQuery::push(const std::string& node,
                                                                        const std::string& symbol,
                                                                        eps::PushFormat format,
                                                                        std::string_view body) {
  if (auto problem = check_push_node(node)) return *problem;
  if (auto problem = check_symbol(symbol)) return *problem;
  const size_t k = push_index(node);
  // Decoded under the lock, with the receipt time taken there: a tick stamped on receipt is
  // never late because another request of the same source got in first. (Requests of one
  // query are applied one at a time anyway; different queries decode in parallel.)
  std::lock_guard lock(mutex_);
  if (auto problem = failed_error()) return *problem;
  Symbol& target = *find_symbol(symbol);
  LiveFeed& feed = *target.feeds[k];
  const int64_t receipt_time = last_receipt_ = std::max(now_nanos(), last_receipt_);
  Batch ticks;
  if (auto problem =
          eps::decode_push_body(body, format, query_->nodes[push_nodes_[k]].output_schemas[0],
                                zone_, receipt_time, feed.passed(), ticks)) {
    return unprocessable(problem->message);
  }
  if (auto problem = journal(
          {QueryRecord::Kind::Push, format, node, symbol, receipt_time, std::string(body)})) {
    return *problem;
  }
  if (auto problem = apply_push(k, target, ticks)) return *problem;
  return PushAccepted{ticks.size(), feed.passed()};
}

std::optional<ApiError> StandingQuery::advance(const std::string& node, const std::string& symbol,
                                               int64_t time) {
  if (auto problem = check_push_node(node)) return *problem;
  if (!(symbol.empty() && !query_->info.symbols.empty())) {
    if (auto problem = check_symbol(symbol)) return *problem;
  }
  const size_t k = push_index(node);
  std::lock_guard lock(mutex_);
  if (auto problem = failed_error()) return *problem;
  std::vector<Symbol*> targets;
  for (auto& s : symbols_) {
    if (symbol.empty() || s->name == symbol) targets.push_back(s.get());
  }
  for (Symbol* s : targets) {
    if (time < s->feeds[k]->passed()) {
      return unprocessable(fmt::format("cannot move push source {}{} back to {}: it has passed {}",
                                       node, s->name.empty() ? "" : " of symbol " + s->name,
                                       format_time(time), format_time(s->feeds[k]->passed())));
    }
  }
  if (auto problem =
          journal({QueryRecord::Kind::Advance, eps::PushFormat::Csv, node, symbol, time, {}})) {
    return *problem;
  }
  return apply_advance(k, targets, time);
}

void StandingQuery::replay(const QueryRecord& record) {
  auto damaged = [&](const std::string& why) {
    return JournalError(fmt::format("journal of query {}: damaged record ({})", name(), why));
  };
  if (check_push_node(record.node)) throw damaged("no push source " + record.node);
  const size_t k = push_index(record.node);
  std::lock_guard lock(mutex_);
  if (error_) return;  // the query failed on an earlier record, as it did before
  std::vector<Symbol*> targets;
  for (auto& s : symbols_) {
    if (s->name == record.symbol ||
        (record.kind == QueryRecord::Kind::Advance && record.symbol.empty())) {
      targets.push_back(s.get());
    }
  }
  if (targets.empty()) throw damaged("no symbol " + record.symbol);
  if (record.kind == QueryRecord::Kind::Advance) {
    apply_advance(k, targets, record.time);
    return;
  }
  Batch ticks;
  if (auto problem = eps::decode_push_body(record.body, record.format,
                                           query_->nodes[push_nodes_[k]].output_schemas[0], zone_,
                                           record.time, targets[0]->feeds[k]->passed(), ticks)) {
    throw damaged(problem->message);
  }
  apply_push(k, *targets[0], ticks);
}

// Called during pump() and stop(), with mutex_ held.
void StandingQuery::on_output(size_t output, Symbol& symbol, const Batch& batch) {
  symbol.ticks_out[output] += batch.size();
  symbol.writers[output]->write(batch);
  symbol.writers[output]->flush();
  const std::string text = symbol.files[output]->take_memory();
  auto& latest = symbol.latest[output];
  std::string events;
  const std::string& event_name = query_->outputs[output].name;
  bool any_sse = false;
  for (const auto& subscriber : subscribers_) any_sse |= subscriber.sse;
  for (size_t begin = 0; begin < text.size();) {
    size_t end = text.find('\n', begin);
    const std::string_view line(text.data() + begin, end - begin);
    if (any_sse) events += sse_event(event_name, line);
    latest.emplace_back(line);
    if (latest.size() > limits_.max_latest) latest.pop_front();
    begin = end + 1;
  }
  std::erase_if(subscribers_, [&](const Subscriber& subscriber) {
    if (subscriber.output && *subscriber.output != output) return subscriber.stream->ended();
    if (!subscriber.symbol.empty() && subscriber.symbol != symbol.name) {
      return subscriber.stream->ended();
    }
    return !subscriber.stream->write(subscriber.sse ? events : text);
  });
}

std::variant<std::string, ApiError> StandingQuery::latest(std::string output,
                                                          const std::string& symbol, size_t n) {
  if (output.empty()) {
    if (query_->outputs.size() != 1) {
      std::vector<std::string> names;
      for (const auto& ref : query_->outputs) names.push_back(ref.name);
      return ApiError{400, fmt::format("query {} has several outputs: give node= (one of {})",
                                       json_quoted(name()), fmt::join(names, ", "))};
    }
    output = query_->outputs[0].name;
  }
  if (auto problem = check_output(output)) return *problem;
  if (auto problem = check_symbol(symbol)) return *problem;
  if (n > limits_.max_latest) {
    return unprocessable(fmt::format("n = {} is more than the {} ticks kept per output and symbol",
                                     n, limits_.max_latest));
  }
  size_t o = 0;
  while (query_->outputs[o].name != output) ++o;
  std::lock_guard lock(mutex_);
  const auto& latest = find_symbol(symbol)->latest[o];
  std::string out;
  for (size_t i = latest.size() - std::min(n, latest.size()); i < latest.size(); ++i) {
    out += latest[i];
    out += '\n';
  }
  return out;
}

std::optional<ApiError> StandingQuery::subscribe(std::shared_ptr<ResponseStream> stream,
                                                 const std::string& output,
                                                 const std::string& symbol, bool sse) {
  Subscriber subscriber{std::move(stream), std::nullopt, symbol, sse};
  if (!output.empty()) {
    if (auto problem = check_output(output)) return *problem;
    size_t o = 0;
    while (query_->outputs[o].name != output) ++o;
    subscriber.output = o;
  }
  if (!symbol.empty()) {
    if (auto problem = check_symbol(symbol)) return *problem;
  }
  std::lock_guard lock(mutex_);
  if (auto problem = failed_error()) return *problem;
  if (sse) subscriber.stream->write(": subscribed to " + name() + "\n\n");
  subscribers_.push_back(std::move(subscriber));
  return std::nullopt;
}

void StandingQuery::heartbeat() {
  std::lock_guard lock(mutex_);
  std::erase_if(subscribers_, [](const Subscriber& subscriber) {
    return !subscriber.stream->write(subscriber.sse ? ": keep-alive\n\n" : "\n");
  });
}

void StandingQuery::end_streams(const std::string& sse_last, const std::string& jsonl_last) {
  for (auto& subscriber : subscribers_) {
    subscriber.stream->end(subscriber.sse ? sse_last : jsonl_last);
  }
  subscribers_.clear();
}

std::string StandingQuery::describe() {
  std::lock_guard lock(mutex_);
  const size_t n = query_->nodes.size();
  std::vector<NodeStats> stats(n);
  std::vector<Held> held(n);
  for (const auto& symbol : symbols_) {
    const auto run_stats = symbol->run->stats();
    const auto run_held = symbol->run->held();
    for (size_t i = 0; i < n && i < run_stats.size(); ++i) {
      stats[i].ticks_in += run_stats[i].ticks_in;
      stats[i].ticks_out += run_stats[i].ticks_out;
      held[i].ticks += run_held[i].ticks;
      held[i].bytes += run_held[i].bytes;
    }
  }
  std::string out = fmt::format(R"({{"name": {}, "source": {}, "symbols": [)", json_quoted(name()),
                                json_quoted(source_));
  for (size_t i = 0; i < query_->info.symbols.size(); ++i) {
    out += (i ? ", " : "") + json_quoted(query_->info.symbols[i]);
  }
  out += R"(], "outputs": [)";
  for (size_t o = 0; o < query_->outputs.size(); ++o) {
    uint64_t ticks = 0;
    for (const auto& symbol : symbols_) ticks += symbol->ticks_out[o];
    fmt::format_to(std::back_inserter(out), R"({}{{"node": {}, "ticks": {}}})", o ? ", " : "",
                   json_quoted(query_->outputs[o].name), ticks);
  }
  fmt::format_to(std::back_inserter(out), R"(], "status": {}, "subscribers": {}, "nodes": [)",
                 json_quoted(error_     ? "failed"
                             : stopped_ ? "stopped"
                                        : "running"),
                 subscribers_.size());
  for (size_t i = 0; i < n; ++i) {
    const BoundNode& node = query_->nodes[i];
    fmt::format_to(std::back_inserter(out),
                   R"({}{{"id": {}, "ep": {}, "accumulation": {}, "schema": {}, "ticks_in": {}, )"
                   R"("ticks_out": {}, "held_ticks": {}, "held_bytes": {})",
                   i ? ", " : "", json_quoted(node.id), json_quoted(node.ep),
                   json_quoted(node.accumulation.to_string()),
                   node.output_schemas.empty() ? "null" : schema_json(*node.output_schemas[0]),
                   stats[i].ticks_in, stats[i].ticks_out, held[i].ticks, held[i].bytes);
    const auto push = std::find(push_nodes_.begin(), push_nodes_.end(), i);
    if (push != push_nodes_.end()) {
      const size_t k = static_cast<size_t>(push - push_nodes_.begin());
      out += R"(, "pushed": [)";
      for (size_t s = 0; s < symbols_.size(); ++s) {
        const LiveFeed& feed = *symbols_[s]->feeds[k];
        fmt::format_to(std::back_inserter(out), R"({}{{"symbol": {}, "ticks": {}, "passed": {}}})",
                       s ? ", " : "", json_quoted(symbols_[s]->name), feed.total(),
                       time_json(feed.passed()));
      }
      out += "]";
    }
    out += "}";
  }
  out += "]";
  if (error_) out += R"(, "error": )" + json_quoted(*error_);
  return out + "}";
}

std::string StandingQuery::stop(Stop how) {
  {
    std::lock_guard lock(mutex_);
    if (!stopped_) {
      if (how == Stop::End) {
        for (auto& symbol : symbols_) {
          for (auto& feed : symbol->feeds) feed->close();
          RunResult result = symbol->run->close();
          if (result.error && !error_) fail(*result.error);
        }
        if (journal_) journal_->remove(name());
      }
      end_streams(sse_event("end", fmt::format(R"({{"query": {}}})", json_quoted(name()))), "");
      stopped_ = true;
    }
  }
  return describe();
}

}  // namespace tickflow::server
