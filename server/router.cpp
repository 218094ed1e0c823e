#include "router.hpp"

#include <atomic>
#include <exception>

#include "api.hpp"

namespace tickflow::server {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t slash = path.find('/', start);
    const size_t end = slash == std::string_view::npos ? path.size() : slash;
    segments.push_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return segments;
}

bool is_parameter(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

HttpResponse HttpResponse::json(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

HttpResponse HttpResponse::error(int status, std::string_view message) {
  return json(status, error_json(message));
}

void Router::add(std::string method, std::string pattern, Handler handler) {
  Route route{std::move(method), std::move(pattern), {}, std::move(handler)};
  for (const auto segment : split_path(route.pattern)) route.segments.emplace_back(segment);
  routes_.push_back(std::move(route));
}

bool Router::match(const Route& route, const std::vector<std::string_view>& segments,
                   std::vector<std::pair<std::string, std::string>>* params) {
  if (route.segments.size() != segments.size()) return false;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& expected = route.segments[i];
    if (is_parameter(expected)) {
      if (segments[i].empty()) return false;
      if (params) {
        params->emplace_back(expected.substr(1, expected.size() - 2), std::string(segments[i]));
      }
    } else if (expected != segments[i]) {
      return false;
    }
  }
  return true;
}

void Router::dispatch(std::shared_ptr<HttpRequest> request, Responder respond) const {
  const auto started = std::chrono::steady_clock::now();
  const auto segments = split_path(request->path);
  const Route* found = nullptr;
  std::string allowed;
  for (const auto& route : routes_) {
    if (!match(route, segments, nullptr)) continue;
    if (route.method == request->method) {
      found = &route;
      break;
    }
    if (allowed.find(route.method) == std::string::npos) {
      allowed += allowed.empty() ? route.method : ", " + route.method;
    }
  }
  const std::string_view route_name = found ? std::string_view(found->pattern) : "unmatched";
  auto observed = [this, request, route_name, started,
                   respond = std::move(respond)](HttpResponse response) {
    if (observer_) {
      observer_(*request, route_name, response, std::chrono::steady_clock::now() - started);
    }
    respond(std::move(response));
  };
  if (!found) {
    if (allowed.empty()) {
      observed(HttpResponse::error(404, "no such path: " + request->path));
    } else {
      auto response = HttpResponse::error(405, "method " + request->method + " is not allowed on " +
                                                   request->path + " (allowed: " + allowed + ")");
      response.headers.emplace_back("Allow", allowed);
      observed(std::move(response));
    }
    return;
  }
  match(*found, segments, &request->path_params);
  // The responder must run exactly once: a handler that throws before handing it on is
  // answered here; one that throws after has already answered or owns the responder.
  auto shared = std::make_shared<decltype(observed)>(std::move(observed));
  auto answered = std::make_shared<std::atomic<bool>>(false);
  Responder once = [shared, answered](HttpResponse response) {
    if (!answered->exchange(true)) (*shared)(std::move(response));
  };
  try {
    found->handler(request, once);
  } catch (const std::exception& e) {
    once(HttpResponse::error(500, std::string("internal error: ") + e.what()));
  }
}

std::vector<std::pair<std::string, std::string>> Router::routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& route : routes_) out.emplace_back(route.method, route.pattern);
  return out;
}

}  // namespace tickflow::server
