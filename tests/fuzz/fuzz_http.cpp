// Fuzz target: what `tickflow serve` does with a request once it has arrived: the request
// target is percent-decoded and its query split as serve.cpp does (RESTinio's relaxed
// rules), then the request goes through the service's Router — routing, JSON bodies,
// limits, statistics. Input: "METHOD TARGET\n" then the body. Every request must get
// exactly one response with a 2xx/4xx status (5xx would be a bug), never a crash.
#include <restinio/all.hpp>

#include <asio/io_context.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "app.hpp"

using namespace tickflow::server;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static asio::io_context io;
  static App* app = [] {
    ServeOptions options;
    options.limits.max_k = 4;
    return new App(io, options, [](std::string) {});
  }();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t line_end = std::min(input.find('\n'), input.size());
  const std::string_view line = input.substr(0, line_end);
  const size_t space = line.find(' ');
  if (space == std::string_view::npos) return 0;
  auto request = std::make_shared<HttpRequest>();
  request->method = std::string(line.substr(0, space));
  std::string_view target = line.substr(space + 1);
  const size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
  try {
    request->path =
        restinio::utils::unescape_percent_encoding<restinio::utils::relaxed_unescape_traits>(path);
    for (const auto& [name, value] :
         restinio::parse_query<restinio::parse_query_traits::relaxed>(query)) {
      request->query.emplace_back(std::string(name), std::string(value));
    }
  } catch (const std::exception&) {
    return 0;  // serve.cpp answers 400 "bad request target"
  }
  request->content_type = "application/json";
  if (line_end < input.size()) request->body = std::string(input.substr(line_end + 1));
  int responses = 0, status = 0;
  app->router().dispatch(request, [&](HttpResponse response) {
    ++responses;
    status = response.status;
  });
  io.restart();
  io.poll();
  if (responses != 1 || status >= 500) __builtin_trap();
  return 0;
}
