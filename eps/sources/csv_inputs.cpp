// Where the `csv` source's bytes come from besides a plain file: gzip and zstd
// decompression (chosen by the first bytes, so a misnamed file still reads) and standard
// input, which the schema sampling at load time and the run share without reading the
// stream twice.
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "sources/csv_reader.hpp"

namespace tickflow::csv {

namespace {

constexpr size_t kCompressedChunk = size_t{1} << 16;

// Reads up to `size` bytes, retrying short reads, from `source`.
size_t read_full(ByteSource& source, char* dst, size_t size) {
  size_t total = 0;
  while (total < size) {
    size_t n = source.read(dst + total, size - total);
    if (n == 0) break;
    total += n;
  }
  return total;
}

// Hands back bytes that were read to look at the magic number before the rest.
class PrefixedSource : public ByteSource {
 public:
  PrefixedSource(std::string prefix, std::unique_ptr<ByteSource> rest)
      : prefix_(std::move(prefix)), rest_(std::move(rest)) {}
  size_t read(char* dst, size_t size) override {
    if (position_ < prefix_.size()) {
      size_t n = std::min(size, prefix_.size() - position_);
      std::memcpy(dst, prefix_.data() + position_, n);
      position_ += n;
      return n;
    }
    return rest_->read(dst, size);
  }

 private:
  std::string prefix_;
  size_t position_ = 0;
  std::unique_ptr<ByteSource> rest_;
};

// gzip (also several concatenated members, as `cat a.gz b.gz` makes) and zlib streams.
class GzipSource : public ByteSource {
 public:
  GzipSource(std::unique_ptr<ByteSource> compressed, std::string name)
      : compressed_(std::move(compressed)), name_(std::move(name)), input_(kCompressedChunk) {
    if (inflateInit2(&stream_, 15 + 32) != Z_OK) {
      throw RuntimeError("cannot start gzip decompression of " + name_, Location{name_});
    }
  }
  ~GzipSource() override { inflateEnd(&stream_); }
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;

  size_t read(char* dst, size_t size) override {
    size_t produced = 0;
    while (produced < size) {
      if (stream_.avail_in == 0 && !input_done_) {
        size_t n = compressed_->read(input_.data(), input_.size());
        consumed_ += n;
        input_done_ = n == 0;
        stream_.next_in = reinterpret_cast<Bytef*>(input_.data());
        stream_.avail_in = static_cast<uInt>(n);
      }
      if (stream_.avail_in == 0 && input_done_) {
        if (inside_member_) {
          throw RuntimeError(name_ + " is truncated: the gzip data ends after " +
                                 std::to_string(consumed_) +
                                 " bytes, inside a compressed block (an incomplete download or "
                                 "copy?)",
                             Location{name_});
        }
        break;
      }
      if (!inside_member_) {
        // A new member starts; reset only after the first, which init prepared.
        if (members_ > 0 && inflateReset(&stream_) != Z_OK) {
          throw RuntimeError("cannot restart gzip decompression of " + name_, Location{name_});
        }
        inside_member_ = true;
        ++members_;
      }
      stream_.next_out = reinterpret_cast<Bytef*>(dst + produced);
      stream_.avail_out = static_cast<uInt>(std::min<size_t>(size - produced, UINT32_MAX));
      const uInt before = stream_.avail_out;
      int rc = inflate(&stream_, Z_NO_FLUSH);
      produced += before - stream_.avail_out;
      if (rc == Z_STREAM_END) {
        inside_member_ = false;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        throw RuntimeError("corrupt gzip data in " + name_ + " (about byte " +
                               std::to_string(consumed_ - stream_.avail_in) +
                               "): " + (stream_.msg ? stream_.msg : zError(rc)),
                           Location{name_});
      }
    }
    return produced;
  }

 private:
  std::unique_ptr<ByteSource> compressed_;
  std::string name_;
  std::vector<char> input_;
  z_stream stream_{};
  bool input_done_ = false;
  bool inside_member_ = false;
  int members_ = 0;
  size_t consumed_ = 0;
};

class ZstdSource : public ByteSource {
 public:
  ZstdSource(std::unique_ptr<ByteSource> compressed, std::string name)
      : compressed_(std::move(compressed)),
        name_(std::move(name)),
        input_(ZSTD_DStreamInSize()),
        stream_(ZSTD_createDStream()) {
    if (!stream_) throw RuntimeError("cannot start zstd decompression of " + name_);
  }
  ~ZstdSource() override { ZSTD_freeDStream(stream_); }
  ZstdSource(const ZstdSource&) = delete;
  ZstdSource& operator=(const ZstdSource&) = delete;

  size_t read(char* dst, size_t size) override {
    ZSTD_outBuffer out{dst, size, 0};
    while (out.pos < out.size) {
      if (in_.pos == in_.size && !input_done_) {
        size_t n = compressed_->read(input_.data(), input_.size());
        consumed_ += n;
        input_done_ = n == 0;
        in_ = {input_.data(), n, 0};
      }
      if (in_.pos == in_.size && input_done_) {
        // Data may still sit in the decoder's window; drain it before judging the end.
        const size_t before = out.pos;
        size_t rc = ZSTD_decompressStream(stream_, &out, &in_);
        check(rc);
        if (out.pos > before) continue;
        if (frame_open_) {
          throw RuntimeError(name_ + " is truncated: the zstd data ends after " +
                                 std::to_string(consumed_) +
                                 " bytes, inside a frame (an incomplete download or copy?)",
                             Location{name_});
        }
        break;
      }
      size_t rc = ZSTD_decompressStream(stream_, &out, &in_);
      check(rc);
      frame_open_ = rc != 0;
    }
    return out.pos;
  }

 private:
  void check(size_t rc) const {
    if (ZSTD_isError(rc)) {
      throw RuntimeError("corrupt zstd data in " + name_ + " (about byte " +
                             std::to_string(consumed_ - (in_.size - in_.pos)) +
                             "): " + ZSTD_getErrorName(rc),
                         Location{name_});
    }
  }

  std::unique_ptr<ByteSource> compressed_;
  std::string name_;
  std::vector<char> input_;
  ZSTD_DStream* stream_;
  ZSTD_inBuffer in_{nullptr, 0, 0};
  bool input_done_ = false;
  bool frame_open_ = false;
  size_t consumed_ = 0;
};

// Standard input, shared by the load-time schema sampling and the run. Bytes read while
// sampling are kept; the run replays them and then reads on, without keeping the rest.
// Only one reader may go past the sampled bytes, since a pipe cannot be rewound.
class StdinTape {
 public:
  static StdinTape& instance() {
    static StdinTape tape;
    return tape;
  }

  // Copies bytes from `position` on; reads standard input when past the kept bytes.
  size_t read(size_t position, char* dst, size_t size, InputUse use, bool& owns_rest) {
    std::lock_guard lock(mutex_);
    if (position < kept_.size()) {
      size_t n = std::min(size, kept_.size() - position);
      std::memcpy(dst, kept_.data() + position, n);
      return n;
    }
    if (use == InputUse::Sample) {
      if (rest_claimed_) return 0;  // only the run reads on; sampling has what it needs
      size_t n = read_stdin(dst, size);
      kept_.append(dst, n);
      return n;
    }
    if (rest_claimed_ && !owns_rest) {
      throw RuntimeError(
          "standard input (path: -) is read once: only one csv source of one run can read it "
          "(give the file a symbol column for several symbols, or read a file instead)",
          Location{std::string(kStdinName)});
    }
    rest_claimed_ = owns_rest = true;
    return read_stdin(dst, size);
  }

 private:
  size_t read_stdin(char* dst, size_t size) {
    for (;;) {
      ssize_t n = ::read(STDIN_FILENO, dst, size);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) {
        throw RuntimeError(std::string("cannot read standard input: ") + std::strerror(errno),
                           Location{std::string(kStdinName)});
      }
    }
  }

  std::mutex mutex_;
  std::string kept_;
  bool rest_claimed_ = false;
};

class StdinSource : public ByteSource {
 public:
  explicit StdinSource(InputUse use) : use_(use) {}
  size_t read(char* dst, size_t size) override {
    size_t total = 0;
    while (total < size) {
      size_t n = StdinTape::instance().read(position_, dst + total, size - total, use_, owns_rest_);
      if (n == 0) break;
      position_ += n;
      total += n;
    }
    return total;
  }

 private:
  InputUse use_;
  size_t position_ = 0;
  bool owns_rest_ = false;
};

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

std::string input_name(const std::string& path) {
  return path == "-" ? std::string(kStdinName) : path;
}

std::unique_ptr<ByteSource> decompress(std::unique_ptr<ByteSource> source,
                                       const std::string& name) {
  std::string magic(4, '\0');
  magic.resize(read_full(*source, magic.data(), magic.size()));
  const bool gzip = magic.size() >= 2 && magic[0] == '\x1f' && magic[1] == '\x8b';
  const bool zstd = magic == std::string("\x28\xb5\x2f\xfd", 4);
  if (!gzip && ends_with(name, ".gz")) {
    throw RuntimeError(
        name + " is not gzip data (it does not start with the gzip magic bytes 1f 8b)",
        Location{name});
  }
  if (!zstd && ends_with(name, ".zst")) {
    throw RuntimeError(
        name + " is not zstd data (it does not start with the zstd magic bytes 28 b5 2f fd)",
        Location{name});
  }
  auto whole = std::make_unique<PrefixedSource>(std::move(magic), std::move(source));
  if (gzip) return std::make_unique<GzipSource>(std::move(whole), name);
  if (zstd) return std::make_unique<ZstdSource>(std::move(whole), name);
  return whole;
}

namespace {

// Reports the bytes read from the source it wraps.
class CountingSource : public ByteSource {
 public:
  CountingSource(std::unique_ptr<ByteSource> source, std::function<void(int64_t)> on_read)
      : source_(std::move(source)), on_read_(std::move(on_read)) {}
  size_t read(char* dst, size_t size) override {
    const size_t n = source_->read(dst, size);
    on_read_(static_cast<int64_t>(n));
    return n;
  }

 private:
  std::unique_ptr<ByteSource> source_;
  std::function<void(int64_t)> on_read_;
};

}  // namespace

std::unique_ptr<ByteSource> open_input(const std::string& path, InputUse use,
                                       std::function<void(int64_t)> on_read) {
  if (path == "-") return decompress(std::make_unique<StdinSource>(use), input_name(path));
  std::unique_ptr<ByteSource> file = open_file(path);
  if (on_read) file = std::make_unique<CountingSource>(std::move(file), std::move(on_read));
  return decompress(std::move(file), path);
}

int64_t input_size(const std::string& path) {
  struct stat info;
  if (path == "-" || ::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return -1;
  return static_cast<int64_t>(info.st_size);
}

}  // namespace tickflow::csv
