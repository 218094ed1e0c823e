// A response body written piece by piece while the server produces it (HTTP chunked
// transfer): the subscriptions of standing queries (SPEC §13, GET .../stream).
//
// Contract of ResponseStream
// --------------------------
// - The producer calls write() with each piece and end() once; neither blocks. The HTTP
//   layer calls start() once with a Sink that hands a piece to the socket asynchronously
//   and calls written() when the socket has taken it (or failed).
// - Pieces written before start() wait in the stream. At most `limit` bytes may be waiting
//   for the socket: a write() that would exceed it ends the stream instead, with
//   `overflow_piece` as its last piece (a subscriber that falls behind is disconnected with
//   a final error event and never slows the producer down).
// - write() returns false once the stream has ended (overflow, end(), or a socket error:
//   the client went away): the producer then forgets the subscriber.
// - Thread-safe: producer and HTTP layer may call from any threads.
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

namespace tickflow::server {

class ResponseStream {
 public:
  // `last`: the final piece, after which the response is complete.
  using Sink = std::function<void(std::string piece, bool last)>;

  ResponseStream(size_t limit, std::string overflow_piece)
      : limit_(limit), overflow_piece_(std::move(overflow_piece)) {}

  bool write(std::string piece);
  // Ends the response after `last_piece` (may be empty).
  void end(std::string last_piece = {});
  bool ended() const;

  void start(Sink sink);
  void written(size_t bytes, bool ok);

  // Bytes handed to the socket and not yet written, plus those waiting for start().
  size_t waiting_bytes() const;

 private:
  void send_locked(std::string piece, bool last);

  mutable std::mutex mutex_;
  const size_t limit_;
  const std::string overflow_piece_;
  Sink sink_;
  std::deque<std::pair<std::string, bool>> before_start_;
  // Atomics: written() may run inside a sink call (a write that fails at once), so it takes
  // no lock.
  std::atomic<size_t> waiting_{0};
  std::atomic<bool> socket_failed_{false};
  bool ended_ = false;
};

}  // namespace tickflow::server
