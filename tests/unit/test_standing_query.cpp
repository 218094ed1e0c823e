// Standing queries without sockets: the bounded ResponseStream, and a StandingQuery pushed to
// from several threads while others read it. Part of the concurrency tests, so that the
// ThreadSanitizer job runs them too.
#include <doctest/doctest.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "builtin.hpp"
#include "response_stream.hpp"
#include "standing_query.hpp"
#include "tickflow/query.hpp"

using namespace tickflow;
using namespace tickflow::server;

namespace {

// A socket that takes pieces and reports them written when drain() runs.
struct FakeSocket {
  std::mutex mutex;
  std::deque<std::pair<std::string, bool>> queued;
  std::string received;
  bool complete = false;

  ResponseStream::Sink sink() {
    return [this](std::string piece, bool last) {
      std::lock_guard lock(mutex);
      queued.emplace_back(std::move(piece), last);
    };
  }
  void drain(ResponseStream& stream) {
    std::deque<std::pair<std::string, bool>> pieces;
    {
      std::lock_guard lock(mutex);
      pieces.swap(queued);
    }
    for (auto& [piece, last] : pieces) {
      received += piece;
      complete |= last;
      stream.written(piece.size(), true);
    }
  }
};

std::shared_ptr<const Query> load(const std::string& text) {
  static Registry registry = [] {
    Registry r;
    eps::register_builtins(r);
    return r;
  }();
  Diagnostics diags;
  auto query = load_query_text(text, "standing.yaml", registry, {}, diags);
  for (const auto& d : diags.items()) FAIL(d.to_string());
  REQUIRE(query);
  return query;
}

}  // namespace

TEST_CASE("response stream: pieces before start, the bound, the final overflow piece") {
  ResponseStream stream(10, "OVER\n");
  FakeSocket socket;
  CHECK(stream.write("abc"));
  stream.start(socket.sink());
  socket.drain(stream);
  CHECK(socket.received == "abc");
  CHECK(stream.write("0123456789"));  // exactly the bound: accepted
  CHECK(stream.waiting_bytes() == 10);
  CHECK_FALSE(stream.write("x"));  // one byte more: the subscriber is cut off
  CHECK(stream.ended());
  CHECK_FALSE(stream.write("y"));
  socket.drain(stream);
  CHECK(socket.received == "abc0123456789OVER\n");
  CHECK(socket.complete);
}

TEST_CASE("response stream: a failed socket write ends it; end() sends the last piece once") {
  ResponseStream failed(100, "OVER");
  FakeSocket socket;
  failed.start(socket.sink());
  CHECK(failed.write("a"));
  failed.written(1, false);
  CHECK_FALSE(failed.write("b"));

  ResponseStream ending(100, "OVER");
  ending.start(socket.sink());
  ending.end("bye");
  ending.end("again");
  socket.drain(ending);
  CHECK(socket.received == "abye");
  CHECK(socket.complete);
}

TEST_CASE("response stream: a producer never waits for a slow reader") {
  ResponseStream stream(1 << 16, "OVER");
  FakeSocket socket;
  stream.start(socket.sink());
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) socket.drain(stream);
    socket.drain(stream);
  });
  size_t accepted = 0;
  for (int i = 0; i < 20000 && stream.write(std::string(64, 'x')); ++i) ++accepted;
  stream.end();
  done = true;
  reader.join();
  // Either everything went through, or the stream was cut off with its overflow piece.
  CHECK(socket.complete);
  CHECK(socket.received.size() >= accepted * 64);
}

TEST_CASE("standing query: pushes from several threads, readers meanwhile, all ticks out") {
  auto query = load(R"(tickflow: 1
name: concurrent
symbols: [A, B]
nodes:
  x: {ep: push, fields: {V: int}}
  y: {ep: push, fields: {V: int}}
  both: {ep: merge, in: [x, y]}
  total:
    ep: aggregate
    in: both
    running: true
    aggs: {N: count(), S: sum(V)}
)");
  StandingQuery standing(query, "test", QueryLimits{});
  constexpr int kRequests = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (const char* symbol : {"A", "B"}) {
    for (const char* node : {"x", "y"}) {
      writers.emplace_back([&, symbol, node] {
        for (int i = 0; i < kRequests; ++i) {
          const std::string body =
              "TIMESTAMP,V\n" + std::to_string(1'000 + i * 10) + "," + std::to_string(i) + "\n";
          auto result = standing.push(node, symbol, eps::PushFormat::Csv, body);
          if (!std::holds_alternative<StandingQuery::PushAccepted>(result)) ++failures;
        }
      });
    }
  }
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) {
      (void)standing.describe();
      (void)standing.latest("", "A", 5);
    }
  });
  for (auto& writer : writers) writer.join();
  done = true;
  reader.join();
  CHECK(failures == 0);
  const std::string end = standing.stop();
  // Each symbol's merge saw both inputs' ticks: 2 x kRequests running totals per symbol.
  CHECK(end.find(R"("outputs": [{"node": "total", "ticks": 800}])") != std::string::npos);
  CHECK(end.find(R"("status": "stopped")") != std::string::npos);
}

TEST_CASE("standing query: ticks stamped on receipt from racing requests are never late") {
  auto query = load(R"(tickflow: 1
name: receipt
nodes:
  x: {ep: push, fields: {V: int}}
)");
  StandingQuery standing(query, "test", QueryLimits{});
  std::atomic<int> refused{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto result = standing.push("x", "", eps::PushFormat::JsonLines, R"({"V": 1})");
        if (!std::holds_alternative<StandingQuery::PushAccepted>(result)) ++refused;
      }
    });
  }
  for (auto& writer : writers) writer.join();
  CHECK(refused == 0);
  CHECK(standing.stop().find(R"("ticks": 800)") != std::string::npos);
}
