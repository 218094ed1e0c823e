// The HTTP routes of `tickflow serve`, independent of the HTTP library: a request is plain
// data, a handler answers through a Responder that may be called later from any thread
// (after the work was queued on a symbol's strand, say). The RESTinio adapter
// (http_server.cpp) is the only code that sees sockets, so new features add routes here and
// handlers in their own files.
//
// Contract of Router
// ------------------
// - add(method, pattern, handler): a pattern is a path whose segments are literal or
//   `{name}` (one segment, bound into HttpRequest::path_params). Literal and parameter
//   segments are matched in the order the routes were added.
// - dispatch(): a path that matches no pattern is 404; a path that matches a pattern
//   registered only for other methods is 405 with an Allow header; both with a JSON
//   error body. A handler that throws is answered 500 with the exception's message.
// - Every dispatched request reaches its Responder exactly once; `on_response` observes
//   each response with its route pattern (metrics, access log).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tickflow::server {

class ResponseStream;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string, percent-decoded
  std::vector<std::pair<std::string, std::string>> query;        // percent-decoded, in order
  std::vector<std::pair<std::string, std::string>> path_params;  // from {name} segments
  std::string content_type;
  std::string accept;  // the Accept header
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Set for a streamed (chunked) response: the body is what the stream receives after the
  // headers went out (see response_stream.hpp); `body` is then unused.
  std::shared_ptr<ResponseStream> stream;

  static HttpResponse json(int status, std::string body);
  // {"error": message}
  static HttpResponse error(int status, std::string_view message);
};

// Answers one request; call exactly once, from any thread.
using Responder = std::function<void(HttpResponse)>;
using Handler = std::function<void(std::shared_ptr<HttpRequest>, Responder)>;

class Router {
 public:
  // Called once per response, on the thread that responds, before the response is sent.
  using ResponseObserver = std::function<void(const HttpRequest& request, std::string_view route,
                                              const HttpResponse& response,
                                              std::chrono::steady_clock::duration elapsed)>;

  void add(std::string method, std::string pattern, Handler handler);
  void on_response(ResponseObserver observer) { observer_ = std::move(observer); }

  void dispatch(std::shared_ptr<HttpRequest> request, Responder respond) const;

  // (method, pattern) of every route, in the order added.
  std::vector<std::pair<std::string, std::string>> routes() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;  // "{name}" for a parameter
    Handler handler;
  };
  static bool match(const Route& route, const std::vector<std::string_view>& segments,
                    std::vector<std::pair<std::string, std::string>>* params);

  std::vector<Route> routes_;
  ResponseObserver observer_;
};

}  // namespace tickflow::server
