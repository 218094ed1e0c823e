#include "response_stream.hpp"

namespace tickflow::server {

// Called with mutex_ held: the sink only queues the piece on the connection, so holding
// the lock keeps the pieces in order without waiting for the socket.
void ResponseStream::send_locked(std::string piece, bool last) {
  waiting_ += piece.size();
  if (!sink_) {
    before_start_.emplace_back(std::move(piece), last);
    return;
  }
  sink_(std::move(piece), last);
}

bool ResponseStream::write(std::string piece) {
  std::lock_guard lock(mutex_);
  if (socket_failed_) ended_ = true;
  if (ended_) return false;
  if (piece.empty()) return true;
  if (waiting_ + piece.size() > limit_) {
    ended_ = true;
    send_locked(overflow_piece_, true);
    return false;
  }
  send_locked(std::move(piece), false);
  return true;
}

void ResponseStream::end(std::string last_piece) {
  std::lock_guard lock(mutex_);
  if (ended_) return;
  ended_ = true;
  send_locked(std::move(last_piece), true);
}

bool ResponseStream::ended() const {
  std::lock_guard lock(mutex_);
  return ended_ || socket_failed_;
}

void ResponseStream::start(Sink sink) {
  std::lock_guard lock(mutex_);
  sink_ = std::move(sink);
  while (!before_start_.empty()) {
    auto [piece, last] = std::move(before_start_.front());
    before_start_.pop_front();
    sink_(std::move(piece), last);
  }
}

void ResponseStream::written(size_t bytes, bool ok) {
  waiting_.fetch_sub(bytes);
  if (!ok) socket_failed_ = true;  // the client went away: nothing more is sent
}

size_t ResponseStream::waiting_bytes() const {
  return waiting_.load();
}

}  // namespace tickflow::server
