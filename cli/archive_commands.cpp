// `tickflow load`, `tickflow run ... --db DB --table T` and `tickflow db list|info`: the
// command-line side of the tick archive (docs/archive.md).
#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "tickflow/archive.hpp"
#include "tickflow/query.hpp"
#include "tickflow/run.hpp"

namespace tickflow::cli {
namespace {

std::string megabytes(int64_t bytes) {
  return fmt::format("{:.1f} MB", bytes / 1e6);
}

std::string ratio(int64_t raw, int64_t bytes) {
  return bytes > 0 ? fmt::format("{:.1f}x", static_cast<double>(raw) / bytes) : "-";
}

// The YAML of a one-node query reading `args.input` with the csv EP.
std::string csv_query_text(const LoadArgs& args) {
  const auto quoted = [](const std::string& text) { return nlohmann::json(text).dump(); };
  std::string node = "{ep: csv, path: " + quoted(args.input);
  if (!args.fields.empty()) {
    node += ", fields: {";
    for (size_t i = 0; i < args.fields.size(); ++i) {
      const std::string& spec = args.fields[i];
      const size_t colon = spec.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size()) {
        throw UsageError("--fields expects NAME:type, got '" + spec + "'");
      }
      node +=
          (i ? ", " : "") + quoted(spec.substr(0, colon)) + ": " + quoted(spec.substr(colon + 1));
    }
    node += "}";
  }
  if (!args.time_field.empty()) node += ", time_field: " + quoted(args.time_field);
  if (!args.time_format.empty()) node += ", time_format: " + quoted(args.time_format);
  if (!args.delimiter.empty()) node += ", delimiter: " + quoted(args.delimiter);
  node += "}";
  return "tickflow: 1\nnodes:\n  input: " + node + "\n";
}

// Writes the ticks of a run into the archive; prints a summary. Exit status as run's.
int run_into_table(const Query& query, const ArchiveTarget& target, size_t threads,
                   size_t batch_size, const std::string& what) {
  if (query.outputs.size() != 1) {
    std::cerr << "tickflow: error: --db stores one output stream; the query has "
              << query.outputs.size() << "\n";
    return 2;
  }
  const OutputRef& ref = query.outputs.front();
  const SchemaPtr schema = query.nodes[ref.node].output_schemas[ref.port];
  const bool with_symbols = !query.info.symbols.empty();
  if (!with_symbols && !schema->contains(target.symbol_field) && !target.symbol) {
    std::cerr << "tickflow: error: the ticks have no field '" << target.symbol_field
              << "' to take their symbol from: name it with --symbol-field, or give every tick "
                 "one symbol with --symbol S\n";
    return 2;
  }
  const auto started = std::chrono::steady_clock::now();
  std::unique_ptr<archive::TableWriter> writer;
  try {
    archive::LoadOptions options;
    options.replace = target.replace;
    options.chunk_rows = target.chunk_rows;
    writer = std::make_unique<archive::TableWriter>(target.db, target.table, schema,
                                                    target.symbol_field, options);
  } catch (const UsageError& e) {
    std::cerr << "tickflow: error: " << e.what() << "\n";
    return 2;
  } catch (const RuntimeError& e) {
    std::cerr << "tickflow: error: " << e.message() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "tickflow: error: " << e.what() << "\n";
    return 1;
  }

  Plan plan = plan_query(query);
  RunOptions options;
  options.threads = threads ? threads : std::max(1u, std::thread::hardware_concurrency());
  options.batch_size = batch_size;
  options.time_nodes = false;
  SymbolRunOptions symbol_options;
  std::optional<RuntimeError> failure;
  const std::vector<std::string> symbols =
      with_symbols ? query.info.symbols : std::vector<std::string>{""};
  MultiRunResult result =
      run_symbols(query, plan, options, symbols, symbol_options,
                  [&](size_t, const std::string& symbol, const Batch& batch) {
                    if (failure) return;
                    try {
                      writer->append(batch, with_symbols ? symbol : target.symbol.value_or(""));
                    } catch (const RuntimeError& e) {
                      failure = e;
                    } catch (const UsageError& e) {
                      failure = RuntimeError(e.what());
                    }
                  });
  if (!failure && !result.failures.empty()) failure = result.failures.front().error;
  archive::LoadStats stats;
  if (!failure) {
    try {
      stats = writer->commit();
    } catch (const RuntimeError& e) {
      failure = e;
    }
  }
  if (failure) {
    writer->abort();
    std::cerr << failure->describe() << "\n"
              << "tickflow: nothing was loaded; the archive is as it was\n";
    return 1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cerr << fmt::format(
      "tickflow: loaded {} ticks from {} into {}/{}: {} partitions ({} replaced), {} on disk "
      "for {} raw ({}), {:.2f} s, {:.2f} M ticks/s\n",
      stats.ticks, what, target.db, target.table, stats.partitions, stats.replaced,
      megabytes(stats.bytes), megabytes(stats.raw_bytes), ratio(stats.raw_bytes, stats.bytes),
      seconds, stats.ticks / std::max(seconds, 1e-9) / 1e6);
  return 0;
}

struct Totals {
  std::set<int64_t> days;
  std::set<std::string> symbols;
  int64_t partitions = 0, ticks = 0, bytes = 0, raw_bytes = 0;
  std::optional<int64_t> first, last;
  void add(const archive::PartitionInfo& p) {
    days.insert(p.day);
    symbols.insert(p.symbol);
    ++partitions;
    ticks += p.ticks;
    bytes += p.bytes;
    raw_bytes += p.raw_bytes;
    first = std::min(first.value_or(p.min_time), p.min_time);
    last = std::max(last.value_or(p.max_time), p.max_time);
  }
  nlohmann::ordered_json json() const {
    return {{"days", days.size()},
            {"symbols", symbols.size()},
            {"partitions", partitions},
            {"ticks", ticks},
            {"bytes", bytes},
            {"raw_bytes", raw_bytes},
            {"first_day", days.empty() ? "" : archive::day_name(*days.begin())},
            {"last_day", days.empty() ? "" : archive::day_name(*days.rbegin())}};
  }
};

}  // namespace

int load_command(const Registry& registry, const LoadArgs& args) {
  std::string text;
  try {
    text = csv_query_text(args);
  } catch (const UsageError& e) {
    std::cerr << "tickflow: error: " << e.what() << "\n";
    return 2;
  }
  Diagnostics diags;
  // Errors in the generated query point at the command line, not at a file.
  auto query = load_query_text(text, "tickflow load", registry, {}, diags);
  if (!query) {
    for (const auto& d : diags.items()) std::cerr << d.to_string() << "\n";
    return diags.exit_status() ? diags.exit_status() : 2;
  }
  return run_into_table(*query, args.target, args.threads, args.batch_size, args.input);
}

int run_into_archive(const Query& query, const RunArgs& args) {
  if (!args.output_path.empty()) {
    std::cerr << "tickflow: error: give either -o or --db, not both\n";
    return 2;
  }
  return run_into_table(query, args.archive, args.threads, args.batch_size, args.graph);
}

int db_command(const DbArgs& args) {
  try {
    const std::vector<std::string> tables =
        args.table.empty() ? archive::list_tables(args.db) : std::vector<std::string>{args.table};
    nlohmann::ordered_json json = nlohmann::ordered_json::array();
    for (const auto& table : tables) {
      archive::ReaderLock lock(args.db, table);
      const archive::TableCatalog catalog = archive::read_catalog(args.db, table);
      Totals totals;
      std::map<int64_t, Totals> by_day;
      std::map<std::string, Totals> by_symbol;
      for (const auto& p : catalog.partitions) {
        totals.add(p);
        by_day[p.day].add(p);
        by_symbol[p.symbol].add(p);
      }
      nlohmann::ordered_json entry = {{"table", table}};
      entry.update(totals.json());
      if (args.info) {
        nlohmann::ordered_json fields = nlohmann::ordered_json::array();
        for (const auto& f : catalog.schema.fields()) {
          fields.push_back({{"name", f.name}, {"type", std::string(type_name(f.type))}});
        }
        entry["symbol_field"] = catalog.symbol_field;
        entry["fields"] = fields;
        nlohmann::ordered_json days = nlohmann::ordered_json::array();
        for (const auto& [day, t] : by_day) {
          days.push_back({{"day", archive::day_name(day)},
                          {"symbols", t.symbols.size()},
                          {"ticks", t.ticks},
                          {"bytes", t.bytes},
                          {"raw_bytes", t.raw_bytes}});
        }
        entry["by_day"] = days;
        nlohmann::ordered_json symbols = nlohmann::ordered_json::array();
        for (const auto& [symbol, t] : by_symbol) {
          symbols.push_back({{"symbol", symbol},
                             {"days", t.days.size()},
                             {"ticks", t.ticks},
                             {"bytes", t.bytes},
                             {"raw_bytes", t.raw_bytes}});
        }
        entry["by_symbol"] = symbols;
      }
      json.push_back(entry);
    }
    if (args.format == "json") {
      std::cout << json.dump(1) << "\n";
      return 0;
    }
    if (!args.info) {
      std::cout << fmt::format("{:<20} {:>6} {:>8} {:>14} {:>12} {:>12} {:>6}\n", "table", "days",
                               "symbols", "ticks", "on disk", "raw", "ratio");
      for (const auto& t : json) {
        std::cout << fmt::format(
            "{:<20} {:>6} {:>8} {:>14} {:>12} {:>12} {:>6}\n", t["table"].get<std::string>(),
            t["days"].get<size_t>(), t["symbols"].get<size_t>(), t["ticks"].get<int64_t>(),
            megabytes(t["bytes"]), megabytes(t["raw_bytes"]), ratio(t["raw_bytes"], t["bytes"]));
      }
      return 0;
    }
    for (const auto& t : json) {
      std::cout << "table " << t["table"].get<std::string>() << "\n  fields:";
      for (const auto& f : t["fields"]) {
        std::cout << " " << f["name"].get<std::string>() << ":" << f["type"].get<std::string>();
      }
      std::cout << "\n  symbol field: " << t["symbol_field"].get<std::string>() << "\n"
                << fmt::format("  {} ticks, {} days ({} .. {}), {} symbols, {} partitions\n",
                               t["ticks"].get<int64_t>(), t["days"].get<size_t>(),
                               t["first_day"].get<std::string>(), t["last_day"].get<std::string>(),
                               t["symbols"].get<size_t>(), t["partitions"].get<int64_t>())
                << fmt::format("  {} on disk, {} raw ({})\n", megabytes(t["bytes"]),
                               megabytes(t["raw_bytes"]), ratio(t["raw_bytes"], t["bytes"]));
      std::cout << fmt::format("  {:<12} {:>8} {:>14} {:>12}\n", "day", "symbols", "ticks",
                               "on disk");
      for (const auto& d : t["by_day"]) {
        std::cout << fmt::format("  {:<12} {:>8} {:>14} {:>12}\n", d["day"].get<std::string>(),
                                 d["symbols"].get<size_t>(), d["ticks"].get<int64_t>(),
                                 megabytes(d["bytes"]));
      }
      std::cout << fmt::format("  {:<12} {:>8} {:>14} {:>12}\n", "symbol", "days", "ticks",
                               "on disk");
      for (const auto& s : t["by_symbol"]) {
        std::cout << fmt::format("  {:<12} {:>8} {:>14} {:>12}\n", s["symbol"].get<std::string>(),
                                 s["days"].get<size_t>(), s["ticks"].get<int64_t>(),
                                 megabytes(s["bytes"]));
      }
    }
    return 0;
  } catch (const RuntimeError& e) {
    std::cerr << "tickflow: error: " << e.message() << "\n";
    return 1;
  }
}

}  // namespace tickflow::cli
