// The service under concurrent requests, without sockets: writer and reader threads send
// requests through the same Router and strands `tickflow serve` uses, on an io_context run
// by several threads. Every read must equal the statistics of a prefix of that symbol's
// pushes that ends on a batch boundary (a reader never sees part of a batch), and no
// request may fail. Built into the unit tests so that a ThreadSanitizer build runs it too.
#include <doctest/doctest.h>

#include <unistd.h>
#include <asio/io_context.hpp>
#include <atomic>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "app.hpp"

using namespace tickflow::server;

namespace {

HttpResponse call(Router& router, std::string method, std::string path,
                  std::vector<std::pair<std::string, std::string>> query, std::string body) {
  auto request = std::make_shared<HttpRequest>();
  request->method = std::move(method);
  request->path = std::move(path);
  request->query = std::move(query);
  request->body = std::move(body);
  auto promise = std::make_shared<std::promise<HttpResponse>>();
  auto future = promise->get_future();
  router.dispatch(request, [promise](HttpResponse response) { promise->set_value(response); });
  return future.get();
}

std::vector<double> batch_values(int symbol, int batch) {
  // Sizes cross block boundaries; values differ per symbol and batch, with a spike now and then.
  const int size = 1 + (batch * 37 + symbol * 11) % 230;
  std::vector<double> values(static_cast<size_t>(size));
  for (int i = 0; i < size; ++i) {
    values[static_cast<size_t>(i)] =
        (batch % 17 == 5 && i == 0) ? 1e9 : symbol * 1000.0 + batch + i * 0.25;
  }
  return values;
}

std::string body_of(const std::string& symbol, const std::vector<double>& values) {
  std::string body = "{\"symbol\": \"" + symbol + "\", \"values\": [";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) body += ",";
    append_json_number(body, values[i]);
  }
  return body + "]}";
}

constexpr int kSymbols = 4, kBatches = 150, kReadersPerSymbol = 2, kMaxK = 4;

// Runs the writers and readers against an App made with `options`.
void run_clients(const ServeOptions& options) {
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  App app(io, options, [](std::string) {});
  std::vector<std::thread> pool;
  for (int i = 0; i < 4; ++i) pool.emplace_back([&io] { io.run(); });

  // Every acceptable answer: per symbol and k, the JSON after each whole batch.
  std::vector<std::vector<std::set<std::string>>> allowed(
      kSymbols, std::vector<std::set<std::string>>(kMaxK + 1));
  for (int s = 0; s < kSymbols; ++s) {
    Series series(kMaxK);
    for (int b = 0; b < kBatches; ++b) {
      series.append(batch_values(s, b));
      for (int k = 1; k <= kMaxK; ++k) {
        allowed[s][k].insert(stats_json("S" + std::to_string(s), k, series.stats(k)));
      }
    }
  }

  std::atomic<int> failures{0}, reads_checked{0};
  std::mutex failure_mutex;
  std::string first_failure;  // doctest's assertions are not thread-safe: report at the end
  std::atomic<int> writers_left{kSymbols};
  std::vector<std::thread> clients;
  for (int s = 0; s < kSymbols; ++s) {
    clients.emplace_back([&, s] {
      const std::string symbol = "S" + std::to_string(s);
      for (int b = 0; b < kBatches; ++b) {
        const auto response =
            call(app.router(), "POST", "/add_batch/", {}, body_of(symbol, batch_values(s, b)));
        if (response.status != 200) ++failures;
      }
      --writers_left;
    });
    for (int r = 0; r < kReadersPerSymbol; ++r) {
      clients.emplace_back([&, s, r] {
        const std::string symbol = "S" + std::to_string(s);
        int k = 1 + r;
        // Reads until the writers are done, then once more (bounded by the writers' work).
        for (bool last = false; !last;) {
          last = writers_left.load() == 0;
          const int asked = k;
          k = k % kMaxK + 1;
          const auto response = call(app.router(), "GET", "/stats/",
                                     {{"symbol", symbol}, {"k", std::to_string(asked)}}, "");
          if (response.status == 404) continue;  // before the first batch
          if (response.status != 200 || !allowed[s][asked].count(response.body)) {
            ++failures;
            std::lock_guard lock(failure_mutex);
            if (first_failure.empty()) first_failure = response.body;
          }
          ++reads_checked;
        }
      });
    }
  }
  for (auto& client : clients) client.join();
  guard.reset();
  io.stop();
  for (auto& thread : pool) thread.join();
  INFO("first unexpected read: " << first_failure);
  CHECK(failures.load() == 0);
  CHECK(reads_checked.load() > 0);
  CHECK(app.stats().symbol_count() == kSymbols);
}

// The stats JSON of every symbol and k, read through a fresh App (a replay when journaled).
std::vector<std::string> final_stats(const ServeOptions& options) {
  asio::io_context io;
  App app(io, options, [](std::string) {});
  std::vector<std::string> out;
  for (int s = 0; s < kSymbols; ++s) {
    for (int k = 1; k <= kMaxK; ++k) {
      auto request = std::make_shared<HttpRequest>();
      request->method = "GET";
      request->path = "/stats/";
      request->query = {{"symbol", "S" + std::to_string(s)}, {"k", std::to_string(k)}};
      app.router().dispatch(request, [&](HttpResponse response) { out.push_back(response.body); });
      io.run();
      io.restart();
    }
  }
  return out;
}

}  // namespace

TEST_CASE("serve concurrency: reads equal the stats of a batch-boundary prefix") {
  ServeOptions options;
  options.limits.max_k = kMaxK;
  run_clients(options);
}

TEST_CASE("serve concurrency: the same with a journal, then a replay gives the same stats") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("tickflow_concurrency_journal_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  ServeOptions options;
  options.limits.max_k = kMaxK;
  options.journal_dir = dir.string();
  options.fsync = FsyncPolicy::interval;  // the flusher thread runs beside the appends
  run_clients(options);
  // Expected: the stats after every batch of every symbol, without any server.
  std::vector<std::string> expected;
  for (int s = 0; s < kSymbols; ++s) {
    Series series(kMaxK);
    for (int b = 0; b < kBatches; ++b) series.append(batch_values(s, b));
    for (int k = 1; k <= kMaxK; ++k) {
      expected.push_back(stats_json("S" + std::to_string(s), k, series.stats(k)));
    }
  }
  CHECK(final_stats(options) == expected);
  std::filesystem::remove_all(dir);
}
