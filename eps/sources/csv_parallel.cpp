// ParallelTickReader: see csv_parallel.hpp for how a window of a file is cut into pieces
// and why the result is TickReader's.
#include "sources/csv_parallel.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tickflow::csv {

namespace {

// The LF bytes of `text`. With SSE2, sixteen bytes at a time: each compare gives 0xFF (-1)
// per LF, subtracted from byte counters that are summed (psadbw) before any can pass 255;
// the compiler's own vectorisation of std::count widened every byte to 64 bits, 6 % of
// reading a CSV file in pieces.
size_t count_newlines(std::string_view text) {
  const char* p = text.data();
  const char* const end = p + text.size();
  size_t count = 0;
#if defined(__SSE2__)
  const __m128i newline = _mm_set1_epi8('\n');
  while (end - p >= 16) {
    const size_t blocks = std::min<size_t>(static_cast<size_t>(end - p) / 16, 255);
    __m128i counters = _mm_setzero_si128();
    for (size_t i = 0; i < blocks; ++i, p += 16) {
      const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      counters = _mm_sub_epi8(counters, _mm_cmpeq_epi8(bytes, newline));
    }
    const __m128i sums = _mm_sad_epu8(counters, _mm_setzero_si128());
    count += static_cast<size_t>(_mm_cvtsi128_si64(sums)) +
             static_cast<size_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(sums, sums)));
  }
#endif
  return count + static_cast<size_t>(std::count(p, end, '\n'));
}

// Line breaks as RecordReader counts lines: LF, CRLF and a lone CR each end one line.
// `text` must not end with a CR whose LF follows it.
int count_line_breaks(std::string_view text) {
  int breaks = static_cast<int>(count_newlines(text));
  if (text.find('\r') == std::string_view::npos) return breaks;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')) ++breaks;
  }
  return breaks;
}

}  // namespace

void ParallelTickReader::WindowBuffer::assign(std::string_view bytes) {
  size_ = 0;
  if (capacity_ < bytes.size()) {
    data_ = std::make_unique_for_overwrite<char[]>(bytes.size());
    capacity_ = bytes.size();
  }
  if (!bytes.empty()) std::memcpy(data_.get(), bytes.data(), bytes.size());
  size_ = bytes.size();
}

bool ParallelTickReader::WindowBuffer::read_up_to(ByteSource& source, size_t target) {
  if (capacity_ < target) {
    auto bigger = std::make_unique_for_overwrite<char[]>(target);
    if (size_ > 0) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = target;
  }
  while (size_ < target) {
    const size_t n = source.read(data_.get() + size_, target - size_);
    if (n == 0) return false;
    size_ += n;
  }
  return true;
}

void ParallelTickReader::WindowBuffer::erase_front(size_t n) {
  if (n < size_) std::memmove(data_.get(), data_.get() + n, size_ - n);
  size_ = n < size_ ? size_ - n : 0;
}

ParallelTickReader::ParallelTickReader(RecordReader& reader, const CsvLayout& layout,
                                       TickReaderOptions options, ParallelReadOptions parallel)
    : layout_(layout),
      options_(std::move(options)),
      parallel_(std::move(parallel)),
      file_(reader.file()),
      delimiter_(reader.delimiter()) {
  if (options_.route_by_symbol) {  // the routing callback fills one map: not from pieces
    throw std::invalid_argument("ParallelTickReader does not route rows by symbol");
  }
  RecordReader::Rest rest = reader.release_rest();
  source_ = std::move(rest.source);
  window_.assign(rest.buffered);
  eof_ = rest.eof;
  carry_line_ = rest.line;
  carry_resync_ = rest.resync_pending;
  parallel_.pieces = std::max<size_t>(parallel_.pieces, 1);
  parallel_.piece_bytes = std::max<size_t>(parallel_.piece_bytes, 1);
  parallel_.batch_size = std::max<size_t>(parallel_.batch_size, 1);
}

bool ParallelTickReader::read(Batch& batch, size_t max_ticks) {
  while (ready_.empty()) {
    if (error_) {
      done_ = true;
      std::rethrow_exception(std::exchange(error_, nullptr));
    }
    if (done_) return false;
    take_window();
  }
  Batch& front = ready_.front();
  if (batch.empty() && front.size() <= max_ticks) {
    batch = std::move(front);
    ready_.pop_front();
    return true;
  }
  const size_t n = std::min(max_ticks, front.size());
  batch.append_rows(front, 0, n);
  if (n == front.size()) {
    ready_.pop_front();
  } else {
    front = front.slice(n, front.size());
  }
  return true;
}

void ParallelTickReader::parse(Piece& piece) const {
  const std::string_view data = window_.view().substr(piece.begin);
  RecordReader reader(data, eof_, file_, delimiter_);
  reader.resume_at(piece.line, piece.resync);
  TickReaderOptions options = options_;
  options.stop_at_offset = static_cast<int64_t>(piece.stop - piece.begin);
  TickReader ticks(reader, layout_, std::move(options));
  Batch batch(layout_.schema);
  try {
    for (;;) {
      const bool more = ticks.read(batch, parallel_.batch_size);
      if (!batch.empty()) {
        piece.batches.push_back(std::move(batch));
        batch = Batch(layout_.schema);
      }
      if (!more) break;
    }
  } catch (const InputPaused&) {
    piece.paused = true;
  } catch (...) {
    piece.error = std::current_exception();
  }
  // The ticks before a pause or an error are whole; a row that failed may have left cells.
  for (auto& column : batch.columns) column.resize(batch.times.size());
  if (!batch.empty()) piece.batches.push_back(std::move(batch));
  piece.range_end = ticks.stopped_by_range();
  piece.end = piece.begin + static_cast<size_t>(reader.scan_offset());
  piece.end_line = reader.scan_line();
  piece.end_resync = reader.resync_pending();
  piece.first_checked = ticks.first_checked();
  piece.last_checked = ticks.last_checked();
  piece.skipped_rows = ticks.skipped_rows();
}

void ParallelTickReader::take_window() {
  Window window;
  if (ahead_.started()) {
    ahead_.wait();  // read_window() catches what it throws
    window = std::move(ahead_window_);
  } else {
    window = read_window();
  }
  for (Batch& batch : window.batches) ready_.push_back(std::move(batch));
  skipped_rows_ += window.skipped_rows;
  error_ = window.error;
  done_ = window.done || window.error;
  if (!done_ && parallel_.read_ahead) {
    ahead_window_ = Window{};
    ahead_.start([this] { ahead_window_ = read_window(); });
  }
}

ParallelTickReader::Window ParallelTickReader::read_window() {
  Window result;
  try {
    fill_window(result);
  } catch (...) {  // a read error of the input: raised after the ticks before it
    result.error = std::current_exception();
  }
  return result;
}

void ParallelTickReader::fill_window(Window& result) {
  // Read a window; a record longer than a window makes the next one twice its size.
  const size_t target = std::max(parallel_.pieces * parallel_.piece_bytes, window_.size() * 2 + 1);
  if (!eof_ && !window_.read_up_to(*source_, target)) eof_ = true;
  if (window_.empty() && eof_) {
    result.done = true;
    return;
  }

  // Cut it after line breaks near equal shares; line numbers by counting the breaks.
  const std::string_view data = window_.view();
  std::vector<Piece> pieces(1);
  pieces[0].line = carry_line_;
  pieces[0].resync = carry_resync_;
  for (size_t k = 1; k < parallel_.pieces; ++k) {
    const size_t nominal = data.size() * k / parallel_.pieces;
    if (nominal <= pieces.back().begin) continue;
    const size_t lf = data.find('\n', nominal);
    if (lf == std::string_view::npos || lf + 1 >= data.size()) break;
    Piece next;
    next.begin = lf + 1;
    next.line = pieces.back().line + count_line_breaks(data.substr(
                                         pieces.back().begin, next.begin - pieces.back().begin));
    pieces.push_back(std::move(next));
  }
  for (size_t k = 0; k < pieces.size(); ++k) {
    pieces[k].stop = k + 1 < pieces.size() ? pieces[k + 1].begin : data.size();
  }
  parallel_.parallel(pieces.size(), [&](size_t k) { parse(pieces[k]); });

  // Take the pieces in order. A piece's guessed start holds when the piece before ended
  // exactly there, outside a skipped line; otherwise it is parsed again from that end.
  size_t expected = 0;
  int expected_line = carry_line_;
  bool expected_resync = carry_resync_;
  for (size_t k = 0; k < pieces.size(); ++k) {
    Piece& piece = pieces[k];
    if (k > 0 && (piece.begin != expected || expected_resync)) {
      if (expected >= piece.stop) continue;  // the record before covers this piece
      Piece again;
      again.begin = expected;
      again.stop = piece.stop;
      again.line = expected_line;
      again.resync = expected_resync;
      piece = std::move(again);
      parse(piece);
    }
    if (piece.first_checked && last_checked_ && piece.first_checked->time < last_checked_->time) {
      result.error = std::make_exception_ptr(
          time_order_error(piece.first_checked->time, last_checked_->time, last_checked_->line,
                           false, piece.first_checked->location));
      window_.clear();
      return;
    }
    for (Batch& batch : piece.batches) result.batches.push_back(std::move(batch));
    result.skipped_rows += piece.skipped_rows;
    if (piece.last_checked) last_checked_ = piece.last_checked;
    if (piece.error) {
      result.error = piece.error;
      window_.clear();
      return;
    }
    if (piece.range_end) {
      result.done = true;
      window_.clear();
      return;
    }
    expected = piece.end;
    expected_line = piece.end_line;
    expected_resync = piece.end_resync;
    if (piece.paused) break;  // the rest of the window starts the next one
  }
  if (eof_) {  // the last window: its pieces ran to the end of the input
    result.done = true;
    window_.clear();
    return;
  }
  window_.erase_front(expected);
  carry_line_ = expected_line;
  carry_resync_ = expected_resync;
}

}  // namespace tickflow::csv
