// OutputFile: stdout, or a file written under a temporary name in the target's directory
// and renamed onto the target by commit(); plus its I/O error and temporary-path helpers.
#include "tickflow/tick_writer.hpp"

#include "io/temp_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "tickflow/diagnostics.hpp"

namespace tickflow {

// ---------------------------------------------------------------- OutputFile

namespace {

std::string describe_errno(int error) {
  return std::strerror(error);
}

[[noreturn]] void throw_io_error(const std::string& what, const std::string& path, int error) {
  throw RuntimeError(fmt::format("{} '{}': {}", what, path, describe_errno(error)));
}

// Same directory as the target so that rename() stays within one file system and is atomic.
std::string temporary_path_for(const std::string& target) {
  static std::atomic<uint64_t> counter{0};
  std::filesystem::path target_path(target);
  std::string name = target_path.filename().string();
  std::filesystem::path temp =
      target_path.parent_path() / fmt::format(".{}.tmp-{}-{}", name, static_cast<long>(::getpid()),
                                              counter.fetch_add(1, std::memory_order_relaxed));
  return temp.string();
}

constexpr size_t kStdioBufferBytes = 1 << 20;

}  // namespace

std::unique_ptr<OutputFile> OutputFile::open(const std::string& path) {
  if (path == "-") return standard_output();
  std::unique_ptr<OutputFile> out(new OutputFile());
  out->path_ = path;

  struct stat target_stat;
  bool target_exists = ::stat(path.c_str(), &target_stat) == 0;
  if (target_exists && S_ISDIR(target_stat.st_mode)) throw_io_error("cannot write", path, EISDIR);

  if (target_exists && !S_ISREG(target_stat.st_mode)) {
    // A device, pipe or socket (/dev/null, /dev/stdout, a FIFO): renaming a temporary file
    // onto it would replace the special file, so write to it directly.
    out->file_ = std::fopen(path.c_str(), "wb");
    if (!out->file_) throw_io_error("cannot open output", path, errno);
  } else {
    std::string target = path;
    struct stat link_stat;
    if (target_exists && ::lstat(path.c_str(), &link_stat) == 0 && S_ISLNK(link_stat.st_mode)) {
      // Replace the file the link points to, not the link itself.
      std::error_code ec;
      auto resolved = std::filesystem::canonical(path, ec);
      if (!ec) target = resolved.string();
    }
    out->temp_path_ = temporary_path_for(target);
    out->path_ = target;
    int fd = ::open(out->temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) throw_io_error("cannot create output file", path, errno);
    detail::track_temporary_file(out->temp_path_);
    out->file_ = ::fdopen(fd, "wb");
    if (!out->file_) {
      int error = errno;
      ::close(fd);
      ::unlink(out->temp_path_.c_str());
      detail::untrack_temporary_file(out->temp_path_);
      throw_io_error("cannot create output file", path, error);
    }
  }
  std::setvbuf(out->file_, nullptr, _IOFBF, kStdioBufferBytes);
  return out;
}

std::unique_ptr<OutputFile> OutputFile::standard_output() {
  std::unique_ptr<OutputFile> out(new OutputFile());
  out->file_ = stdout;
  out->path_ = "<stdout>";
  out->is_stdout_ = true;
  return out;
}

OutputFile::~OutputFile() {
  if (!done_) abort();
}

std::unique_ptr<OutputFile> OutputFile::memory() {
  std::unique_ptr<OutputFile> out(new OutputFile());
  out->path_ = "<memory>";
  out->is_memory_ = true;
  return out;
}

std::string OutputFile::take_memory() {
  std::string bytes;
  bytes.swap(memory_);
  return bytes;
}

void OutputFile::write(std::string_view bytes) {
  if (bytes.empty()) return;
  if (is_memory_) {
    memory_.append(bytes);
    return;
  }
  if (done_ || !file_) throw RuntimeError(fmt::format("write to closed output '{}'", path_));
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    throw_io_error("cannot write", path_, errno);
  }
}

void OutputFile::commit() {
  if (done_) return;
  if (is_memory_) {
    done_ = true;
    return;
  }
  if (is_stdout_) {
    if (std::fflush(file_) != 0) throw_io_error("cannot write", path_, errno);
    return;  // stdout stays usable; nothing to undo
  }
  std::FILE* file = file_;
  file_ = nullptr;
  bool write_failed = std::fflush(file) != 0 || std::ferror(file);
  int error = errno;
  if (std::fclose(file) != 0 && !write_failed) {
    write_failed = true;
    error = errno;
  }
  if (write_failed) {
    if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
    detail::untrack_temporary_file(temp_path_);
    done_ = true;
    throw_io_error("cannot write", path_, error);
  }
  if (!temp_path_.empty() && std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    error = errno;
    ::unlink(temp_path_.c_str());
    detail::untrack_temporary_file(temp_path_);
    done_ = true;
    throw_io_error("cannot rename output file onto", path_, error);
  }
  detail::untrack_temporary_file(temp_path_);
  done_ = true;
}

void OutputFile::abort() noexcept {
  if (done_) return;
  done_ = true;
  if (is_memory_) return;
  if (is_stdout_) {
    std::fflush(file_);
    return;
  }
  if (file_) std::fclose(file_);
  file_ = nullptr;
  if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
  detail::untrack_temporary_file(temp_path_);
}

}  // namespace tickflow
