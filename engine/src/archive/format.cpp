// Chunk encodings, checksums, file names and durable writes of the archive format.
#include "archive/format.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include <fmt/format.h>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "tickflow/diagnostics.hpp"
#include "tickflow/time.hpp"

namespace tickflow::archive {

int64_t day_of(int64_t time) {
  int64_t day = time / kNanosPerDay;
  if (time % kNanosPerDay < 0) --day;
  return day;
}

std::string day_name(int64_t day) {
  int64_t year;
  unsigned month, mday;
  civil_from_days(day, year, month, mday);
  return fmt::format("{:04}-{:02}-{:02}", year, month, mday);
}

namespace format {

std::string field_file(const std::string& field) {
  return "f_" + field + ".col";
}

Encoding encoding_for(Type type) {
  switch (type) {
    case Type::Time:
    case Type::Duration:
      return Encoding::Delta;
    case Type::String:
      return Encoding::String;
    default:
      return Encoding::Plain;
  }
}

std::string_view encoding_name(Encoding encoding) {
  switch (encoding) {
    case Encoding::Plain:
      return "plain";
    case Encoding::Delta:
      return "delta";
    case Encoding::String:
      return "string";
  }
  return "?";
}

uint64_t checksum(const void* data, size_t size) {
  return XXH3_64bits(data, size);
}

namespace {

// Byte-plane transposition of n 8-byte words: out[plane * n + i] = byte `plane` of word i.
void transpose_words(const uint8_t* in, size_t n, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* word = in + i * 8;
    for (size_t plane = 0; plane < 8; ++plane) out[plane * n + i] = word[plane];
  }
}

// Words [begin, begin + count) of `planes`, whose plane k (plane_size bytes from
// planes + k * plane_size) holds byte k of every word. Sixteen words at a time with SSE2 (three
// rounds of interleaving 16-byte rows of the planes give 128 bytes of whole words; 9x the byte by
// byte loop on 62,500-word chunks); one word at a time otherwise and for the rest.
void untranspose_words(const uint8_t* planes, size_t plane_size, size_t begin, size_t count,
                       uint8_t* out) {
  const uint8_t* in = planes + begin;
  const size_t n = plane_size;
  size_t i = 0;
#if defined(__SSE2__)
  for (; i + 16 <= count; i += 16) {
    __m128i plane[8];
    for (size_t k = 0; k < 8; ++k) {
      plane[k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + k * n + i));
    }
    // Bytes of planes (0, 1), (2, 3), (4, 5), (6, 7) side by side: 16-bit pieces.
    const __m128i p01_lo = _mm_unpacklo_epi8(plane[0], plane[1]);
    const __m128i p01_hi = _mm_unpackhi_epi8(plane[0], plane[1]);
    const __m128i p23_lo = _mm_unpacklo_epi8(plane[2], plane[3]);
    const __m128i p23_hi = _mm_unpackhi_epi8(plane[2], plane[3]);
    const __m128i p45_lo = _mm_unpacklo_epi8(plane[4], plane[5]);
    const __m128i p45_hi = _mm_unpackhi_epi8(plane[4], plane[5]);
    const __m128i p67_lo = _mm_unpacklo_epi8(plane[6], plane[7]);
    const __m128i p67_hi = _mm_unpackhi_epi8(plane[6], plane[7]);
    // 32-bit pieces: bytes 0-3 and 4-7 of words 0-3, 4-7, 8-11, 12-15.
    const __m128i low[4] = {_mm_unpacklo_epi16(p01_lo, p23_lo), _mm_unpackhi_epi16(p01_lo, p23_lo),
                            _mm_unpacklo_epi16(p01_hi, p23_hi), _mm_unpackhi_epi16(p01_hi, p23_hi)};
    const __m128i high[4] = {_mm_unpacklo_epi16(p45_lo, p67_lo), _mm_unpackhi_epi16(p45_lo, p67_lo),
                             _mm_unpacklo_epi16(p45_hi, p67_hi),
                             _mm_unpackhi_epi16(p45_hi, p67_hi)};
    auto* words = reinterpret_cast<__m128i*>(out + i * 8);
    for (size_t q = 0; q < 4; ++q) {
      _mm_storeu_si128(words + 2 * q, _mm_unpacklo_epi32(low[q], high[q]));
      _mm_storeu_si128(words + 2 * q + 1, _mm_unpackhi_epi32(low[q], high[q]));
    }
  }
#endif
  for (; i < count; ++i) {
    uint64_t word = 0;
    for (size_t k = 0; k < 8; ++k) word |= static_cast<uint64_t>(in[k * n + i]) << (8 * k);
    std::memcpy(out + i * 8, &word, 8);
  }
}

}  // namespace

void encode_ints(const int64_t* values, size_t n, Encoding encoding, std::string& out) {
  out.resize(n * 8);
  if (encoding == Encoding::Delta) {
    std::vector<int64_t> deltas(n);
    int64_t previous = 0;
    for (size_t i = 0; i < n; ++i) {
      // Wrapping subtraction: any pair of int64 values round-trips.
      deltas[i] =
          static_cast<int64_t>(static_cast<uint64_t>(values[i]) - static_cast<uint64_t>(previous));
      previous = values[i];
    }
    transpose_words(reinterpret_cast<const uint8_t*>(deltas.data()), n,
                    reinterpret_cast<uint8_t*>(out.data()));
  } else {
    transpose_words(reinterpret_cast<const uint8_t*>(values), n,
                    reinterpret_cast<uint8_t*>(out.data()));
  }
}

void encode_column(const Column& column, size_t begin, size_t end, std::string& out) {
  const size_t n = end - begin;
  switch (column.type()) {
    case Type::Double:
      out.resize(n * 8);
      transpose_words(reinterpret_cast<const uint8_t*>(column.doubles().data() + begin), n,
                      reinterpret_cast<uint8_t*>(out.data()));
      return;
    case Type::Bool:
      out.assign(reinterpret_cast<const char*>(column.bools().data() + begin), n);
      return;
    case Type::String: {
      const auto& strings = column.strings();
      size_t total = 0;
      for (size_t i = begin; i < end; ++i) total += strings[i].size();
      out.resize(n * 4 + total);
      char* lengths = out.data();
      char* bytes = out.data() + n * 4;
      for (size_t i = begin; i < end; ++i) {
        const uint32_t length = static_cast<uint32_t>(strings[i].size());
        std::memcpy(lengths + (i - begin) * 4, &length, 4);
        std::memcpy(bytes, strings[i].data(), length);
        bytes += length;
      }
      return;
    }
    default:
      encode_ints(column.ints().data() + begin, n, encoding_for(column.type()), out);
      return;
  }
}

bool decode_ints(std::string_view bytes, size_t n, Encoding encoding, std::vector<int64_t>& out) {
  if (bytes.size() != n * 8) return false;
  out.resize(n);
  untranspose_words(reinterpret_cast<const uint8_t*>(bytes.data()), n, 0, n,
                    reinterpret_cast<uint8_t*>(out.data()));
  if (encoding == Encoding::Delta) {
    uint64_t running = 0;
    for (size_t i = 0; i < n; ++i) {
      running += static_cast<uint64_t>(out[i]);
      out[i] = static_cast<int64_t>(running);
    }
  }
  return true;
}

bool decode_column(std::string_view bytes, size_t n, Column& column) {
  switch (column.type()) {
    case Type::Double: {
      if (bytes.size() != n * 8) return false;
      auto& values = column.doubles();
      values.resize(n);
      untranspose_words(reinterpret_cast<const uint8_t*>(bytes.data()), n, 0, n,
                        reinterpret_cast<uint8_t*>(values.data()));
      return true;
    }
    case Type::Bool: {
      if (bytes.size() != n) return false;
      auto& values = column.bools();
      values.assign(bytes.begin(), bytes.end());
      for (uint8_t& b : values) {
        if (b > 1) return false;
      }
      return true;
    }
    case Type::String: {
      if (bytes.size() < n * 4) return false;
      auto& values = column.strings();
      values.clear();
      values.reserve(n);
      size_t offset = n * 4;
      for (size_t i = 0; i < n; ++i) {
        uint32_t length;
        std::memcpy(&length, bytes.data() + i * 4, 4);
        if (length > bytes.size() - offset) return false;
        values.push_back(std::string_view(bytes.data() + offset, length));
        offset += length;
      }
      return offset == bytes.size();
    }
    default:
      return decode_ints(bytes, n, encoding_for(column.type()), column.ints());
  }
}

bool BlockRows::open(std::string_view bytes, size_t n, Type type) {
  bytes_ = bytes;
  rows_ = n;
  type_ = type;
  encoding_ = encoding_for(type);
  next_string_row_ = 0;
  next_string_byte_ = n * 4;
  switch (type) {
    case Type::Bool:
      if (bytes.size() != n) return false;
      for (char b : bytes) {
        if (static_cast<uint8_t>(b) > 1) return false;
      }
      return true;
    case Type::String: {
      if (bytes.size() < n * 4) return false;
      uint64_t total = n * 4;
      for (size_t i = 0; i < n; ++i) total += length_of(i);
      return total == bytes.size();
    }
    default:
      if (bytes.size() != n * 8) return false;
      if (encoding_ == Encoding::Delta) return decode_ints(bytes, n, encoding_, delta_values_);
      return true;
  }
}

void BlockRows::append_rows(size_t begin, size_t end, Column& out) const {
  const size_t count = end - begin;
  const auto* planes = reinterpret_cast<const uint8_t*>(bytes_.data());
  switch (type_) {
    case Type::Bool: {
      auto& values = out.bools();
      values.insert(values.end(), planes + begin, planes + end);
      return;
    }
    case Type::String: {
      auto& values = out.strings();
      // Rows are usually asked for in order: carry the byte offset on from the last call.
      if (begin != next_string_row_) {
        next_string_byte_ = rows_ * 4;
        for (size_t i = 0; i < begin; ++i) next_string_byte_ += length_of(i);
      }
      values.reserve(values.size() + count);
      size_t offset = next_string_byte_;
      for (size_t i = begin; i < end; ++i) {
        const uint32_t length = length_of(i);
        values.push_back(std::string_view(bytes_.data() + offset, length));
        offset += length;
      }
      next_string_row_ = end;
      next_string_byte_ = offset;
      return;
    }
    case Type::Double: {
      auto& values = out.doubles();
      const size_t at = values.size();
      values.resize(at + count);
      untranspose_words(planes, rows_, begin, count,
                        reinterpret_cast<uint8_t*>(values.data() + at));
      return;
    }
    default: {
      auto& values = out.ints();
      if (encoding_ == Encoding::Delta) {
        values.insert(values.end(), delta_values_.begin() + static_cast<ptrdiff_t>(begin),
                      delta_values_.begin() + static_cast<ptrdiff_t>(end));
        return;
      }
      const size_t at = values.size();
      values.resize(at + count);
      untranspose_words(planes, rows_, begin, count,
                        reinterpret_cast<uint8_t*>(values.data() + at));
    }
  }
}

void compress(std::string_view raw, int level, std::string& out) {
  out.resize(ZSTD_compressBound(raw.size()));
  const size_t size = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), level);
  if (ZSTD_isError(size)) {
    throw RuntimeError(std::string("zstd compression failed: ") + ZSTD_getErrorName(size));
  }
  out.resize(size);
}

bool decompress(std::string_view compressed, size_t raw_size, std::string& out) {
  const unsigned long long content = ZSTD_getFrameContentSize(compressed.data(), compressed.size());
  if (content != raw_size) return false;
  out.resize(raw_size);
  const size_t size = ZSTD_decompress(out.data(), out.size(), compressed.data(), compressed.size());
  return !ZSTD_isError(size) && size == raw_size;
}

std::string escape_symbol(std::string_view symbol) {
  if (symbol.empty()) return "%";
  std::string out;
  for (size_t i = 0; i < symbol.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(symbol[i]);
    const bool keep = std::isalnum(c) || c == '_' || c == '-' || (c == '.' && i > 0);
    if (keep) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

namespace {

[[noreturn]] void throw_file_error(const std::string& what, const std::string& path, int error) {
  throw RuntimeError(fmt::format("{} '{}': {}", what, path, std::strerror(error)));
}

void write_all(int fd, std::string_view content, const std::string& path) {
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_file_error("cannot write", path, errno);
    }
    done += static_cast<size_t>(n);
  }
}

}  // namespace

void sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_file_error("cannot open", path, errno);
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0) throw_file_error("cannot sync", path, error);
}

void sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_file_error("cannot open directory", dir, errno);
  ::fsync(fd);  // some file systems refuse fsync on directories; the rename is still atomic
  ::close(fd);
}

void write_file_durably(const std::string& path, std::string_view content) {
  static std::atomic<uint64_t> counter{0};
  const std::filesystem::path target(path);
  const std::string temp =
      (target.parent_path() / fmt::format(".{}.tmp-{}-{}", target.filename().string(),
                                          static_cast<long>(::getpid()), counter.fetch_add(1)))
          .string();
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw_file_error("cannot create", temp, errno);
  try {
    write_all(fd, content, temp);
    if (::fsync(fd) != 0) throw_file_error("cannot sync", temp, errno);
  } catch (...) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    throw_file_error("cannot rename onto", path, error);
  }
  sync_directory(target.parent_path().string());
}

std::string read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw RuntimeError(fmt::format("cannot read archive file '{}': {}", path, std::strerror(errno)),
                       Location{path});
  }
  std::string content;
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      throw RuntimeError(
          fmt::format("cannot read archive file '{}': {}", path, std::strerror(error)),
          Location{path});
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return content;
}

std::string checked_json_text(const nlohmann::json& document) {
  std::string text = document.dump(1);
  text += '\n';
  text += fmt::format("xxh3 {:016x}\n", checksum(text.data(), text.size()));
  return text;
}

nlohmann::json parse_checked_json(const std::string& text, const std::string& path,
                                  uint64_t* checksum_out) {
  auto damaged = [&](const std::string& why) {
    return RuntimeError(fmt::format("archive file '{}' is damaged: {}", path, why), Location{path});
  };
  // The last line is "xxh3 " + 16 hex digits + "\n" (22 bytes).
  constexpr size_t kTrailer = 22;
  if (text.size() < kTrailer || text.compare(text.size() - kTrailer, 5, "xxh3 ") != 0 ||
      text.back() != '\n') {
    throw damaged("no checksum line at its end (truncated?)");
  }
  const std::string body = text.substr(0, text.size() - kTrailer);
  const std::string hex = text.substr(text.size() - kTrailer + 5, 16);
  uint64_t expected = 0;
  for (char c : hex) {
    const int digit = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                      : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                                                                  : -1;
    if (digit < 0) throw damaged("bad checksum line");
    expected = expected * 16 + static_cast<uint64_t>(digit);
  }
  const uint64_t actual = checksum(body.data(), body.size());
  if (actual != expected) throw damaged("checksum mismatch");
  if (checksum_out) *checksum_out = actual;
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    throw damaged(e.what());
  }
}

nlohmann::json catalog_to_json(const TableCatalog& catalog) {
  nlohmann::json fields = nlohmann::json::array();
  for (const auto& field : catalog.schema.fields()) {
    fields.push_back({{"name", field.name}, {"type", std::string(type_name(field.type))}});
  }
  nlohmann::json partitions = nlohmann::json::array();
  for (const auto& p : catalog.partitions) {
    partitions.push_back({{"day", day_name(p.day)},
                          {"symbol", p.symbol},
                          {"dir", p.dir},
                          {"ticks", p.ticks},
                          {"min_time", p.min_time},
                          {"max_time", p.max_time},
                          {"bytes", p.bytes},
                          {"raw_bytes", p.raw_bytes},
                          {"manifest_checksum", p.manifest_checksum}});
  }
  return {{"format", kFormatVersion},
          {"table", catalog.table},
          {"symbol_field", catalog.symbol_field},
          {"fields", fields},
          {"partitions", partitions}};
}

int64_t json_int64(const nlohmann::json& value) {
  if (value.is_number_unsigned()) {
    const auto u = value.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      throw nlohmann::json::other_error::create(501, "integer out of range", &value);
    }
    return static_cast<int64_t>(u);
  }
  if (!value.is_number_integer()) {
    throw nlohmann::json::other_error::create(501, "expected an integer", &value);
  }
  return value.get<int64_t>();
}

uint64_t json_uint64(const nlohmann::json& value) {
  if (!value.is_number_unsigned()) {
    throw nlohmann::json::other_error::create(501, "expected an unsigned integer", &value);
  }
  return value.get<uint64_t>();
}

TableCatalog catalog_from_json(const nlohmann::json& json, const std::string& path) {
  TableCatalog catalog;
  try {
    const int64_t version = json_int64(json.at("format"));
    if (version != kFormatVersion) {
      throw RuntimeError(fmt::format("archive file '{}' has format {}; this tickflow reads {}",
                                     path, version, kFormatVersion),
                         Location{path});
    }
    catalog.table = json.at("table").get<std::string>();
    catalog.symbol_field = json.at("symbol_field").get<std::string>();
    std::vector<Field> fields;
    for (const auto& f : json.at("fields")) {
      auto type = parse_type(f.at("type").get<std::string>());
      if (!type) throw nlohmann::json::other_error::create(501, "unknown field type", &f);
      fields.push_back({f.at("name").get<std::string>(), *type});
    }
    catalog.schema = Schema(std::move(fields));
    for (const auto& p : json.at("partitions")) {
      PartitionInfo info;
      auto day = parse_time_text(p.at("day").get<std::string>());
      if (!day) throw nlohmann::json::other_error::create(501, "bad day", &p);
      info.day = day_of(*day);
      info.symbol = p.at("symbol").get<std::string>();
      info.dir = p.at("dir").get<std::string>();
      info.ticks = json_int64(p.at("ticks"));
      info.min_time = json_int64(p.at("min_time"));
      info.max_time = json_int64(p.at("max_time"));
      info.bytes = json_int64(p.at("bytes"));
      info.raw_bytes = json_int64(p.at("raw_bytes"));
      info.manifest_checksum = json_uint64(p.at("manifest_checksum"));
      catalog.partitions.push_back(std::move(info));
    }
  } catch (const nlohmann::json::exception& e) {
    throw RuntimeError(fmt::format("archive file '{}' is damaged: {}", path, e.what()),
                       Location{path});
  }
  return catalog;
}

}  // namespace format
}  // namespace tickflow::archive
