// Byte sources (files, memory) and RecordReader, the streaming RFC 4180 record scanner
// of the `csv` source: quoted cells, line ends, chunked reading and error resync.
// Cell parsing, layout and TickReader are in csv_reader.cpp.
#include "sources/csv_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace tickflow::csv {

// ---------------------------------------------------------------- byte sources

namespace {

class FileSource : public ByteSource {
 public:
  FileSource(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~FileSource() override { ::close(fd_); }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  // Fills the whole request unless the file ends: the record reader re-scans a partial
  // record after every refill, so short reads would make long records quadratic.
  size_t read(char* dst, size_t size) override {
    size_t total = 0;
    while (total < size) {
      ssize_t n = ::read(fd_, dst + total, size - total);
      if (n == 0) break;
      if (n < 0) {
        if (errno == EINTR) continue;
        throw RuntimeError("cannot read " + path_ + ": " + std::strerror(errno), Location{path_});
      }
      total += static_cast<size_t>(n);
    }
    return total;
  }

 private:
  int fd_;
  std::string path_;
};

class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::string data) : data_(std::move(data)) {}
  size_t read(char* dst, size_t size) override {
    size_t n = std::min(size, data_.size() - position_);
    std::memcpy(dst, data_.data() + position_, n);
    position_ += n;
    return n;
  }

 private:
  std::string data_;
  size_t position_ = 0;
};

}  // namespace

std::unique_ptr<ByteSource> open_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw RuntimeError("cannot open " + path + ": " + std::strerror(errno), Location{path});
  }
  struct stat info {};
  if (::fstat(fd, &info) == 0 && S_ISDIR(info.st_mode)) {
    ::close(fd);
    throw RuntimeError("cannot read " + path + ": it is a directory", Location{path});
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::make_unique<FileSource>(fd, path);
}

std::unique_ptr<ByteSource> memory_source(std::string data) {
  return std::make_unique<MemorySource>(std::move(data));
}

// ---------------------------------------------------------------- records

RecordReader::RecordReader(std::unique_ptr<ByteSource> source, std::string file_name,
                           char delimiter, size_t chunk_size)
    : source_(std::move(source)),
      file_(std::move(file_name)),
      delimiter_(delimiter),
      chunk_size_(std::max<size_t>(chunk_size, 1)) {
  std::memset(unquoted_stop_, 0, sizeof unquoted_stop_);
  for (char c : {delimiter_, '\n', '\r', '\0'}) unquoted_stop_[static_cast<uint8_t>(c)] = 1;
}

RecordReader::RecordReader(std::string_view bytes, bool last, std::string file_name, char delimiter)
    : RecordReader(nullptr, std::move(file_name), delimiter, 1) {
  data_ = bytes.data();
  end_ = bytes.size();
  in_memory_ = true;
  pauses_at_end_ = !last;
}

bool RecordReader::next() {
  if (resync_pending_) resync();
  for (;;) {
    switch (scan()) {
      case Scan::Complete:
        current_start_ = record_start_;
        current_end_ = scan_end_;
        record_line_ = line_;
        current_spans_.swap(spans_);
        current_count_ = span_count_;
        // Most records hold no "" pair: nothing to rewrite.
        if (spans_escaped_) unescape_cells();
        line_ += static_cast<int>(breaks_);
        record_start_ = next_start_;
        return true;
      case Scan::End:
        current_count_ = 0;
        return false;
      case Scan::NeedMore:
        refill();
        break;
      case Scan::Error:
        fail_and_resync();
    }
  }
}

// Scans one record starting at record_start_. Returns NeedMore (without consuming
// anything but empty lines) when the buffer ends before the record does; the caller
// refills and the scan starts again, which costs little because refills at least double
// the data held.
RecordReader::Scan RecordReader::scan() {
  const char* b = data_;
  if (at_file_start_) {
    if (end_ - record_start_ < 3 && !eof_) return Scan::NeedMore;
    if (end_ - record_start_ >= 3 && std::memcmp(b + record_start_, "\xEF\xBB\xBF", 3) == 0) {
      record_start_ += 3;
    }
    at_file_start_ = false;
  }
  for (;;) {  // empty lines carry no record
    if (record_start_ == end_) return eof_ ? Scan::End : Scan::NeedMore;
    const char c = b[record_start_];
    if (c == '\n') {
      ++record_start_;
    } else if (c == '\r') {
      if (record_start_ + 1 == end_ && !eof_) return Scan::NeedMore;
      record_start_ += record_start_ + 1 < end_ && b[record_start_ + 1] == '\n' ? 2 : 1;
    } else {
      break;
    }
    ++line_;
  }

  span_count_ = 0;
  spans_escaped_ = false;
  breaks_ = 0;
  size_t p = record_start_;
  auto end_record = [&](size_t at) {
    scan_end_ = at;
    if (at == end_) {
      next_start_ = at;
      return Scan::Complete;
    }
    if (b[at] == '\r') {
      if (at + 1 == end_ && !eof_) return Scan::NeedMore;
      next_start_ = at + (at + 1 < end_ && b[at + 1] == '\n' ? 2 : 1);
    } else {
      next_start_ = at + 1;
    }
    ++breaks_;
    return Scan::Complete;
  };
  auto error_at = [&](size_t at, const char* message) {
    error_offset_ = at;
    error_swallows_rest_ = false;
    error_ = message;
    return Scan::Error;
  };

  for (;;) {
    const size_t cell_start = p;
    if (p < end_ && b[p] == '"') {
      ++p;
      bool escaped = false;
      for (;;) {
        while (p < end_ && b[p] != '"' && b[p] != '\n' && b[p] != '\r' && b[p] != '\0') ++p;
        if (p == end_) {
          if (!eof_) return Scan::NeedMore;
          // Everything to the end of the file is inside the quotes: skip all of it.
          error_offset_ = cell_start;
          error_swallows_rest_ = true;
          error_ = "unterminated quoted cell: the quote opened here is never closed";
          return Scan::Error;
        }
        const char c = b[p];
        if (c == '"') {
          if (p + 1 == end_ && !eof_) return Scan::NeedMore;
          if (p + 1 < end_ && b[p + 1] == '"') {
            escaped = true;
            p += 2;
            continue;
          }
          break;
        }
        if (c == '\0') return error_at(p, "NUL byte in the data (is this a binary file?)");
        if (c == '\r') {
          if (p + 1 == end_ && !eof_) return Scan::NeedMore;
          if (p + 1 < end_ && b[p + 1] == '\n') ++p;
        }
        ++breaks_;  // a line break inside quotes is part of the value
        ++p;
      }
      add_span({cell_start, cell_start + 1, p, escaped});
      spans_escaped_ |= escaped;
      ++p;  // the closing quote
      if (p == end_) {
        if (!eof_) return Scan::NeedMore;
        return end_record(p);
      }
      const char c = b[p];
      if (c == delimiter_) {
        ++p;
        continue;
      }
      if (c == '\n' || c == '\r') return end_record(p);
      return error_at(p,
                      "unexpected text after a closing quote (a quote inside a quoted cell "
                      "is written as two quotes)");
    }

    while (p < end_ && !unquoted_stop_[static_cast<uint8_t>(b[p])]) ++p;
    if (p == end_ && !eof_) return Scan::NeedMore;
    if (p < end_ && b[p] == '\0')
      return error_at(p, "NUL byte in the data (is this a binary file?)");
    add_span({cell_start, cell_start, p, false});
    if (p < end_ && b[p] == delimiter_) {
      ++p;
      continue;
    }
    return end_record(p);
  }
}

void RecordReader::resume_at(int line, bool resync_pending) {
  line_ = line;
  resync_pending_ = resync_pending;
  at_file_start_ = false;
}

RecordReader::Rest RecordReader::release_rest() {
  Rest rest;
  rest.buffered.assign(data_ + record_start_, end_ - record_start_);
  rest.source = std::move(source_);
  rest.eof = eof_;
  rest.line = line_;
  rest.resync_pending = resync_pending_;
  discarded_ += end_;
  record_start_ = end_ = 0;
  eof_ = true;
  resync_pending_ = false;
  return rest;
}

void RecordReader::refill() {
  if (in_memory_) {  // there is nothing more to read
    if (pauses_at_end_) throw InputPaused{};
    eof_ = true;
    return;
  }
  const size_t keep = end_ - record_start_;
  if (record_start_ > 0) {
    discarded_ += record_start_;
    if (keep > 0) std::memmove(buffer_.get(), buffer_.get() + record_start_, keep);
    end_ = keep;
    record_start_ = 0;
  }
  // Reading at least as much as the partial record holds doubles the data per refill,
  // keeping re-scans of a long record linear overall.
  const size_t want = std::max(chunk_size_, keep);
  if (capacity_ - end_ < want) {
    size_t capacity = end_ + want;
    auto bigger = std::make_unique<char[]>(capacity);
    if (end_ > 0) std::memcpy(bigger.get(), buffer_.get(), end_);
    buffer_ = std::move(bigger);
    data_ = buffer_.get();
    capacity_ = capacity;
  }
  const size_t n = source_->read(buffer_.get() + end_, want);
  if (n == 0) {
    eof_ = true;
  } else {
    end_ += n;
  }
}

void RecordReader::unescape_cells() {
  unescaped_.clear();
  const char* b = data_;
  for (size_t c = 0; c < current_count_; ++c) {
    Span& span = current_spans_[c];
    if (!span.escaped) continue;
    const size_t start = unescaped_.size();
    for (size_t i = span.begin; i < span.end; ++i) {
      unescaped_.push_back(b[i]);
      if (b[i] == '"') ++i;  // the second quote of a "" pair
    }
    span.begin = start;
    span.end = unescaped_.size();
  }
}

Location RecordReader::locate(size_t record_start, int record_line, size_t offset) const {
  const char* b = data_;
  int line = record_line;
  size_t line_start = record_start;
  for (size_t i = record_start; i < offset; ++i) {
    if (b[i] == '\n' || (b[i] == '\r' && (i + 1 >= end_ || b[i + 1] != '\n'))) {
      ++line;
      line_start = i + 1;
    }
  }
  return Location{file_, line, static_cast<int>(offset - line_start + 1)};
}

Location RecordReader::location(size_t i) const {
  return locate(current_start_, record_line_, current_spans_[i].raw_start);
}

Location RecordReader::end_location() const {
  return locate(current_start_, record_line_, current_end_);
}

void RecordReader::fail_and_resync() {
  const Location where = locate(record_start_, line_, error_offset_);
  std::string message = std::move(error_);
  current_count_ = 0;
  if (error_swallows_rest_) {
    record_start_ = end_;
    throw RuntimeError(std::move(message), where);
  }
  line_ = where.line;
  record_start_ = error_offset_;
  // The error is raised at once; skipping to the next line waits for the next record a
  // caller asks for, so that `on_error: fail` stops at the bad byte rather than after
  // reading on to a line break that may never come (a NUL in /dev/zero).
  resync_pending_ = true;
  throw RuntimeError(std::move(message), where);
}

void RecordReader::resync() {
  // The flag stays set until the line break is found: a source that pauses mid-line (a
  // piece of a file, ParallelTickReader) leaves the reader still skipping.
  for (;;) {  // resume at the next line
    const char* b = data_;
    size_t p = record_start_;
    while (p < end_ && b[p] != '\n' && b[p] != '\r') ++p;
    if (p == end_) {
      record_start_ = end_;
      if (eof_) break;
      refill();
      continue;
    }
    if (b[p] == '\r' && p + 1 == end_ && !eof_) {
      record_start_ = p;
      refill();
      continue;
    }
    record_start_ = p + (b[p] == '\r' && p + 1 < end_ && b[p + 1] == '\n' ? 2 : 1);
    ++line_;
    break;
  }
  resync_pending_ = false;
}

}  // namespace tickflow::csv
