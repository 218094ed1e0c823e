#include "journal.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

namespace tickflow::server {

namespace {

constexpr char kMagic[8] = {'T', 'F', 'J', 'R', 'N', 'L', '0', '1'};
constexpr const char* kExtension = ".journal";
// Records larger than this are not something the server writes: a count beyond it is
// damage, not a long record.
constexpr uint32_t kMaxRecordValues = 1u << 24;

static_assert(std::endian::native == std::endian::little,
              "the journal stores little-endian doubles as they are in memory");

uint32_t checksum(const unsigned char* data, size_t n) {
  return static_cast<uint32_t>(crc32(0L, data, static_cast<uInt>(n)));
}

void put_u32(std::vector<unsigned char>& out, uint32_t value) {
  unsigned char bytes[4];
  std::memcpy(bytes, &value, 4);
  out.insert(out.end(), bytes, bytes + 4);
}

uint32_t get_u32(const unsigned char* p) {
  uint32_t value;
  std::memcpy(&value, p, 4);
  return value;
}

std::string system_message() {
  return std::strerror(errno);
}

// Writes all of `n` bytes at the end of the file or fails (errno set).
bool write_all(int fd, const unsigned char* data, size_t n) {
  while (n > 0) {
    const ssize_t written = ::write(fd, data, n);
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += written;
    n -= static_cast<size_t>(written);
  }
  return true;
}

// Reads up to n bytes at `offset`; returns how many were read (fewer only at the end).
size_t read_at(int fd, unsigned char* data, size_t n, uint64_t offset, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    const ssize_t got = ::pread(fd, data + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw JournalError(fmt::format("journal {}: cannot read: {}", path, system_message()));
    }
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  return done;
}

void sync_directory(const std::string& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::vector<unsigned char> header_bytes(std::string_view symbol) {
  std::vector<unsigned char> header(kMagic, kMagic + sizeof kMagic);
  put_u32(header, static_cast<uint32_t>(symbol.size()));
  header.insert(header.end(), symbol.begin(), symbol.end());
  put_u32(header, checksum(reinterpret_cast<const unsigned char*>(symbol.data()), symbol.size()));
  return header;
}

}  // namespace

std::optional<FsyncPolicy> parse_fsync_policy(std::string_view text) {
  if (text == "always") return FsyncPolicy::always;
  if (text == "interval") return FsyncPolicy::interval;
  if (text == "never") return FsyncPolicy::never;
  return std::nullopt;
}

// ---------------------------------------------------------------- JournalFile

JournalFile::JournalFile(int fd, std::string path, uint64_t size, FsyncPolicy policy)
    : fd_(fd), path_(std::move(path)), size_(size), policy_(policy) {}

JournalFile::~JournalFile() {
  sync();
  ::close(fd_);
}

void JournalFile::append(std::span<const double> values) {
  buffer_.clear();
  buffer_.reserve(8 + values.size_bytes());
  put_u32(buffer_, static_cast<uint32_t>(values.size()));
  put_u32(buffer_, 0);  // checksum, below
  const auto* payload = reinterpret_cast<const unsigned char*>(values.data());
  buffer_.insert(buffer_.end(), payload, payload + values.size_bytes());
  uint32_t crc = checksum(buffer_.data(), 4);
  crc = static_cast<uint32_t>(crc32(crc, payload, static_cast<uInt>(values.size_bytes())));
  std::memcpy(buffer_.data() + 4, &crc, 4);
  if (!write_all(fd_, buffer_.data(), buffer_.size())) {
    const std::string reason = system_message();
    // Cut a partly written record off again so that the file holds only accepted batches.
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0 ||
        ::lseek(fd_, 0, SEEK_END) != static_cast<off_t>(size_)) {
      throw JournalError(fmt::format("journal {}: cannot write ({}) nor cut back to {} bytes",
                                     path_, reason, size_));
    }
    throw JournalError(fmt::format("journal {}: cannot write: {}", path_, reason));
  }
  size_ += buffer_.size();
  if (policy_ == FsyncPolicy::always) {
    if (::fdatasync(fd_) != 0) {
      throw JournalError(fmt::format("journal {}: fdatasync failed: {}", path_, system_message()));
    }
  } else {
    dirty_.store(true, std::memory_order_release);
  }
}

void JournalFile::sync() {
  if (dirty_.exchange(false, std::memory_order_acq_rel)) ::fdatasync(fd_);
}

// ---------------------------------------------------------------- Journal

std::string Journal::file_name_for(std::string_view symbol) {
  std::string name;
  for (const char c : symbol) fmt::format_to(std::back_inserter(name), "{:02x}", (unsigned char)c);
  return name + kExtension;
}

Journal::Journal(std::string directory, FsyncPolicy policy, const ApplyBatch& apply,
                 const Report& report, JournalWords words)
    : directory_(std::move(directory)), policy_(policy), words_(words) {
  namespace fs = std::filesystem;
  std::error_code error;
  fs::create_directories(directory_, error);
  if (error || !fs::is_directory(directory_)) {
    throw JournalError(fmt::format("journal directory {}: cannot create it: {}", directory_,
                                   error ? error.message() : "not a directory"));
  }
  std::vector<std::string> paths;
  for (const auto& entry : fs::directory_iterator(directory_)) {
    if (entry.path().extension() == kExtension) paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  for (const auto& path : paths) replay_file(path, apply, report);
  if (policy_ == FsyncPolicy::interval) flusher_ = std::thread([this] { flush_every_second(); });
}

Journal::~Journal() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_signal_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  sync_all();
}

void Journal::flush_every_second() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_signal_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
    lock.unlock();
    sync_all();
    lock.lock();
  }
}

void Journal::sync_all() {
  std::lock_guard lock(mutex_);
  for (auto& [symbol, file] : files_) file->sync();
}

void Journal::replay_file(const std::string& path, const ApplyBatch& apply, const Report& report) {
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0)
    throw JournalError(fmt::format("journal {}: cannot open: {}", path, system_message()));
  struct stat info {};
  ::fstat(fd, &info);
  const auto file_size = static_cast<uint64_t>(info.st_size);
  auto fail = [&](std::string message) {
    ::close(fd);
    throw JournalError(std::move(message));
  };
  // A crash while the header was being written leaves a file shorter than its header:
  // nothing in it was acknowledged.
  unsigned char fixed[12];
  const size_t got = read_at(fd, fixed, sizeof fixed, 0, path);
  if (got < sizeof fixed || get_u32(fixed + 8) > 64 * 1024) {
    if (got < sizeof fixed && std::equal(fixed, fixed + got, kMagic)) {
      report(fmt::format("journal {}: torn header ({} bytes) removed", path, file_size));
      ::close(fd);
      std::filesystem::remove(path);
      return;
    }
    fail(fmt::format("journal {}: damaged header at offset 0", path));
  }
  if (!std::equal(kMagic, kMagic + 8, fixed)) {
    fail(fmt::format("journal {}: damaged header at offset 0 (not a tickflow journal)", path));
  }
  const uint32_t symbol_length = get_u32(fixed + 8);
  std::vector<unsigned char> rest(symbol_length + 4);
  if (read_at(fd, rest.data(), rest.size(), 12, path) < rest.size()) {
    report(fmt::format("journal {}: torn header ({} bytes) removed", path, file_size));
    ::close(fd);
    std::filesystem::remove(path);
    return;
  }
  if (checksum(rest.data(), symbol_length) != get_u32(rest.data() + symbol_length)) {
    fail(fmt::format("journal {}: damaged header at offset 12 (symbol checksum mismatch)", path));
  }
  std::string symbol(reinterpret_cast<const char*>(rest.data()), symbol_length);
  if (file_name_for(symbol) != std::filesystem::path(path).filename().string()) {
    fail(fmt::format("journal {}: damaged header at offset 12 (symbol does not match file name)",
                     path));
  }

  uint64_t offset = 12 + rest.size();
  std::vector<double> values;
  while (offset < file_size) {
    unsigned char record[8];
    const size_t header_got = read_at(fd, record, 8, offset, path);
    const uint32_t count = header_got == 8 ? get_u32(record) : 0;
    const bool complete_header = header_got == 8 && count > 0 && count <= kMaxRecordValues;
    const uint64_t record_end = offset + 8 + uint64_t{count} * 8;
    bool intact = complete_header && record_end <= file_size;
    if (intact) {
      values.resize(count);
      auto* payload = reinterpret_cast<unsigned char*>(values.data());
      if (read_at(fd, payload, count * size_t{8}, offset + 8, path) < count * size_t{8}) {
        intact = false;
      } else {
        uint32_t crc = checksum(record, 4);
        crc = static_cast<uint32_t>(crc32(crc, payload, count * 8u));
        intact =
            crc == get_u32(record + 4) &&
            (words_ == JournalWords::raw ||
             std::all_of(values.begin(), values.end(), [](double v) { return std::isfinite(v); }));
      }
    }
    if (!intact) {
      // Only the last record may be torn: whatever follows a bad record means the file was
      // damaged, and skipping it would silently lose acknowledged batches.
      const bool is_tail = !complete_header || record_end >= file_size;
      if (!is_tail) {
        fail(fmt::format(
            "journal {}: damaged record at offset {} (checksum mismatch; {} bytes follow)", path,
            offset, file_size - record_end));
      }
      if (::ftruncate(fd, static_cast<off_t>(offset)) != 0) {
        fail(fmt::format("journal {}: cannot truncate the torn tail at offset {}: {}", path, offset,
                         system_message()));
      }
      report(fmt::format("journal {}: torn last record at offset {} ({} bytes) truncated", path,
                         offset, file_size - offset));
      break;
    }
    apply(symbol, values);
    offset = record_end;
  }
  replayed_.push_back(symbol);
  std::lock_guard lock(mutex_);
  files_[symbol] = std::make_unique<JournalFile>(fd, path, std::min(offset, file_size), policy_);
}

void Journal::remove(const std::string& symbol) {
  std::lock_guard lock(mutex_);
  auto it = files_.find(symbol);
  if (it == files_.end()) return;
  const std::string path = it->second->path();
  files_.erase(it);
  ::unlink(path.c_str());
  if (policy_ == FsyncPolicy::always) sync_directory(directory_);
}

JournalFile& Journal::file_for(const std::string& symbol) {
  std::lock_guard lock(mutex_);
  auto& slot = files_[symbol];
  if (slot) return *slot;
  const std::string path = directory_ + "/" + file_name_for(symbol);
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    files_.erase(symbol);
    throw JournalError(fmt::format("journal {}: cannot create: {}", path, system_message()));
  }
  const auto header = header_bytes(symbol);
  if (!write_all(fd, header.data(), header.size()) ||
      (policy_ == FsyncPolicy::always && ::fdatasync(fd) != 0)) {
    const std::string reason = system_message();
    ::close(fd);
    ::unlink(path.c_str());
    files_.erase(symbol);
    throw JournalError(fmt::format("journal {}: cannot write the header: {}", path, reason));
  }
  if (policy_ == FsyncPolicy::always) sync_directory(directory_);
  slot = std::make_unique<JournalFile>(fd, path, header.size(), policy_);
  return *slot;
}

}  // namespace tickflow::server
