// Reading a CSV file on several threads with exactly the result of TickReader: the same
// ticks in the same order, the same skipped rows, and the same first error with its
// file:line:column.
#pragma once

#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sources/csv_reader.hpp"
#include "tickflow/ep_helpers.hpp"

namespace tickflow::csv {

// Runs body(part) for every part in [0, parts), possibly concurrently (work_in_parts).
using ParallelFor = std::function<void(size_t parts, const std::function<void(size_t)>& body)>;

struct ParallelReadOptions {
  ParallelFor parallel;
  size_t pieces = 4;              // pieces of a window parsed at once
  size_t piece_bytes = 1u << 20;  // so a window holds pieces * piece_bytes bytes
  size_t batch_size = 4096;       // ticks per batch a piece produces
  // Read ahead: the next window is read and parsed in the background (BackgroundWork)
  // while the caller takes the batches of the one before.
  bool read_ahead = false;
};

// The file is read in windows of bytes. A window is cut into pieces at line breaks and every
// piece is parsed by its own RecordReader and TickReader, concurrently. A line break may lie
// inside a quoted cell, so a piece's start is a guess: the piece before it, parsed from a
// known record start, says where the next record really starts, and a piece whose guess
// was wrong is parsed again from there (rare: only a quoted cell holding a line break
// right at a cut). Line numbers are exact because each piece starts at the line that
// counting the line breaks before it gives. Time order is checked within each piece and,
// between pieces, from the last checked time of one to the first of the next; errors are
// raised in file order, after the ticks before them. The record cut by a window's end is
// carried into the next window. Reading ahead, the next window is parsed while the ticks of
// the current one are taken; what it gives (ticks, an error) is held until they are.
//
// Not for route_by_symbol (the shared symbol file keeps one map of symbols), nor for inputs
// read as they arrive (a pipe): a window waits for its bytes.
class ParallelTickReader {
 public:
  // `reader` is positioned after the header; its unread bytes and source are taken over.
  ParallelTickReader(RecordReader& reader, const CsvLayout& layout, TickReaderOptions options,
                     ParallelReadOptions parallel);

  // As TickReader::read.
  bool read(Batch& batch, size_t max_ticks);
  int64_t skipped_rows() const { return skipped_rows_; }

 private:
  // One piece of a window: where it starts (a byte of the window) and the offset at which its
  // last record must start before, and what parsing it gave.
  struct Piece {
    size_t begin = 0;
    size_t stop = 0;
    int line = 1;
    bool resync = false;

    std::deque<Batch> batches;
    std::exception_ptr error;
    bool paused = false;     // the window ended inside a record (or a skipped line)
    bool range_end = false;  // a tick at or after the range's end was reached
    size_t end = 0;          // where the next record's scan starts
    int end_line = 1;
    bool end_resync = false;
    std::optional<CheckedTime> first_checked, last_checked;
    int64_t skipped_rows = 0;
  };

  // What reading one window gave, in file order: its ticks, then its error or the end.
  struct Window {
    std::deque<Batch> batches;
    std::exception_ptr error;
    bool done = false;  // nothing follows (the input or the range ended, or an error)
    int64_t skipped_rows = 0;
  };

  // Reads, cuts and parses the next window. Touches only the reading state below (the
  // source, the window's bytes, what is carried between windows), so that it can run in
  // the background while read() hands out the ticks of the window before. A read error of
  // the input becomes the window's error.
  Window read_window();
  // read_window's work; throws what reading the input throws.
  void fill_window(Window& result);
  // Takes the next window's result (waiting for it when read ahead) into ready_, and
  // starts reading the one after it when reading ahead.
  void take_window();
  void parse(Piece& piece) const;

  const CsvLayout& layout_;
  TickReaderOptions options_;
  ParallelReadOptions parallel_;
  std::string file_;
  char delimiter_;
  std::unique_ptr<ByteSource> source_;
  bool eof_ = false;

  // Bytes that are read over, never zero-filled first: the carried bytes, then a window.
  class WindowBuffer {
   public:
    std::string_view view() const { return {data_.get(), size_}; }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    void assign(std::string_view bytes);
    // Reads from `source` until the buffer holds `target` bytes or the source ends;
    // false at its end.
    bool read_up_to(ByteSource& source, size_t target);
    void erase_front(size_t n);
    void clear() { size_ = 0; }

   private:
    std::unique_ptr<char[]> data_;
    size_t size_ = 0, capacity_ = 0;
  };
  WindowBuffer window_;
  int carry_line_ = 1;
  bool carry_resync_ = false;
  std::optional<CheckedTime> last_checked_;  // across windows and pieces

  // What read() hands out: touched by the caller's thread only.
  std::deque<Batch> ready_;
  std::exception_ptr error_;  // raised once ready_ is empty
  bool done_ = false;
  int64_t skipped_rows_ = 0;

  Window ahead_window_;  // written by the background read of the next window
  // Last: destroyed first, waiting for a background read that still uses the members above.
  BackgroundWork ahead_;
};

}  // namespace tickflow::csv
