// The only translation unit that includes RESTinio (it compiles slowly): the adapter from
// RESTinio requests to the Router, the listening socket, threads and signals.
#include "serve.hpp"

#include "response_stream.hpp"

#include <fmt/format.h>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <restinio/all.hpp>

#include <csignal>
#include <iostream>
#include <mutex>
#include <thread>

namespace tickflow::server {

namespace {

// Asynchronous connections on a thread pool: every connection has its own strand.
using Traits = restinio::traits_t<restinio::asio_timer_manager_t, restinio::null_logger_t>;

// RESTinio closes a connection whose body exceeds its own limit without answering; it is
// set far above the service's 4 MiB so that oversized bodies get the documented 413.
constexpr uint64_t kTransportBodyLimit = uint64_t{64} << 20;
// A handler waiting on a busy symbol (or an fsync) is not a timeout.
constexpr auto kHandleTimeout = std::chrono::seconds(120);
// How long a stop waits for requests in flight before giving up on them.
constexpr auto kDrainLimit = std::chrono::seconds(30);

restinio::http_status_line_t status_line(int status) {
  const char* reason = "Unknown";
  switch (status) {
    case 200:
      reason = "OK";
      break;
    case 400:
      reason = "Bad Request";
      break;
    case 404:
      reason = "Not Found";
      break;
    case 405:
      reason = "Method Not Allowed";
      break;
    case 413:
      reason = "Payload Too Large";
      break;
    case 422:
      reason = "Unprocessable Entity";
      break;
    case 500:
      reason = "Internal Server Error";
      break;
    case 503:
      reason = "Service Unavailable";
      break;
  }
  return restinio::http_status_line_t{restinio::http_status_code_t{static_cast<uint16_t>(status)},
                                      reason};
}

// Moves a RESTinio request into the router's plain form; false (with a 400 response) when
// the path or query cannot be decoded.
bool to_http_request(const restinio::request_t& in, HttpRequest& out, HttpResponse& refusal) {
  const auto& header = in.header();
  out.method = std::string(header.method().c_str());
  try {
    out.path = restinio::utils::unescape_percent_encoding<restinio::utils::relaxed_unescape_traits>(
        header.path());
    for (const auto& [name, value] :
         restinio::parse_query<restinio::parse_query_traits::relaxed>(header.query())) {
      out.query.emplace_back(std::string(name), std::string(value));
    }
  } catch (const std::exception& e) {
    refusal = HttpResponse::error(400, std::string("bad request target: ") + e.what());
    return false;
  }
  out.content_type = header.get_field_or(restinio::http_field::content_type, "");
  out.accept = header.get_field_or(restinio::http_field::accept, "");
  out.body = in.body();
  return true;
}

// A streamed response: headers now, then each piece of the stream as a chunk, flushed at
// once; the stream learns when the socket has taken a piece (its bound on waiting bytes).
void send_stream(const restinio::request_handle_t& request, HttpResponse& response) {
  using Builder = restinio::response_builder_t<restinio::chunked_output_t>;
  struct Shared {
    explicit Shared(Builder b) : builder(std::move(b)) {}
    std::mutex mutex;
    Builder builder;
    bool done = false;
  };
  auto shared = std::make_shared<Shared>(
      request->create_response<restinio::chunked_output_t>(status_line(response.status)));
  shared->builder.append_header(restinio::http_field::content_type, response.content_type);
  shared->builder.append_header(restinio::http_field::cache_control, "no-cache");
  for (auto& [name, value] : response.headers) shared->builder.append_header(name, value);
  shared->builder.flush();
  std::weak_ptr<ResponseStream> weak = response.stream;
  response.stream->start([shared, weak](std::string piece, bool last) {
    std::lock_guard lock(shared->mutex);
    if (shared->done) return;
    const size_t bytes = piece.size();
    shared->builder.append_chunk(std::move(piece));
    auto on_written = [weak, bytes](const asio::error_code& error) {
      if (auto stream = weak.lock()) stream->written(bytes, !error);
    };
    if (last) {
      shared->done = true;
      shared->builder.done(on_written);
    } else {
      shared->builder.flush(on_written);
    }
  });
}

void send(const restinio::request_handle_t& request, HttpResponse response) {
  if (response.stream) {
    send_stream(request, response);
    return;
  }
  auto builder = request->create_response(status_line(response.status));
  builder.append_header(restinio::http_field::content_type, response.content_type);
  for (auto& [name, value] : response.headers) builder.append_header(name, value);
  builder.set_body(std::move(response.body));
  builder.done();
}

}  // namespace

int serve(const ServeOptions& options) {
  std::mutex log_mutex;
  auto log = [&log_mutex](std::string line) {
    std::lock_guard lock(log_mutex);
    std::cerr << "tickflow serve: " << line << std::endl;
  };
  // A write to a client that went away must be an error on that socket, not a signal.
  std::signal(SIGPIPE, SIG_IGN);

  asio::io_context io;
  std::unique_ptr<App> app;
  try {
    app = std::make_unique<App>(io, options, log);
  } catch (const JournalError& e) {
    std::cerr << "tickflow: error: " << e.what() << "\n";
    return 1;
  } catch (const UsageError& e) {
    std::cerr << "tickflow: error: " << e.what() << "\n";
    return 2;
  } catch (const RuntimeError& e) {
    std::cerr << e.describe() << "\n";
    return 1;
  }

  std::atomic<int64_t> in_flight{0};
  auto handler = [&app, &in_flight](restinio::request_handle_t request) {
    auto plain = std::make_shared<HttpRequest>();
    HttpResponse refusal;
    in_flight.fetch_add(1);
    auto respond = [request, &in_flight](HttpResponse response) {
      send(request, std::move(response));
      in_flight.fetch_sub(1);
    };
    if (!to_http_request(*request, *plain, refusal)) {
      respond(std::move(refusal));
    } else {
      app->router().dispatch(std::move(plain), std::move(respond));
    }
    return restinio::request_accepted();
  };

  restinio::http_server_t<Traits> server{
      restinio::external_io_context(io),
      restinio::server_settings_t<Traits>{}
          .address(options.host)
          .port(static_cast<uint16_t>(options.port))
          .incoming_http_msg_limits(
              restinio::incoming_http_msg_limits_t{}.max_body_size(kTransportBodyLimit))
          .handle_request_timeout(kHandleTimeout)
          .request_handler(handler)};
  try {
    server.open_sync();
  } catch (const std::exception& e) {
    std::cerr << "tickflow: error: cannot listen on " << options.host << ":" << options.port << ": "
              << e.what() << "\n";
    return 1;
  }

  // Stop: close the listening socket, let requests in flight finish, sync the journal,
  // then stop the threads (idle keep-alive connections are dropped with them).
  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::steady_timer drain_timer(io);
  std::chrono::steady_clock::time_point drain_deadline;
  std::function<void()> wait_for_drain = [&] {
    if (in_flight.load() == 0 || std::chrono::steady_clock::now() > drain_deadline) {
      if (in_flight.load() != 0)
        log(fmt::format("{} requests still in flight at exit", in_flight.load()));
      app->flush();
      io.stop();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(5));
    drain_timer.async_wait([&](const std::error_code&) { wait_for_drain(); });
  };
  signals.async_wait([&](const std::error_code& error, int signal_number) {
    if (error) return;
    log(fmt::format("{} received: stopping", signal_number == SIGINT ? "SIGINT" : "SIGTERM"));
    drain_deadline = std::chrono::steady_clock::now() + kDrainLimit;
    app->stop_queries();
    server.close_async([&] { wait_for_drain(); }, [&](std::exception_ptr) { wait_for_drain(); });
  });

  const size_t threads =
      options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  log(fmt::format(
      "listening on http://{}:{} ({} threads, max {} symbols, max k {}, {} standing "
      "queries{})",
      options.host, options.port, threads, options.limits.max_symbols, options.limits.max_k,
      app->queries().size(), options.journal_dir ? ", journal " + *options.journal_dir : ""));
  app->start_heartbeat();
  std::vector<std::thread> pool;
  for (size_t i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& thread : pool) thread.join();
  app.reset();
  log("stopped");
  return 0;
}

}  // namespace tickflow::server
