// Tables and their catalogs; the reader lock.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <filesystem>

#include "archive/format.hpp"
#include "tickflow/archive.hpp"
#include "tickflow/diagnostics.hpp"

namespace tickflow::archive {

namespace fs = std::filesystem;

std::vector<std::string> list_tables(const std::string& db) {
  std::error_code ec;
  if (!fs::is_directory(db, ec)) {
    throw RuntimeError(fmt::format("'{}' is not an archive directory", db), Location{db});
  }
  std::vector<std::string> tables;
  for (const auto& entry : fs::directory_iterator(db, ec)) {
    if (entry.is_directory(ec) && fs::exists(entry.path() / format::kCatalogFile, ec)) {
      tables.push_back(entry.path().filename().string());
    }
  }
  std::sort(tables.begin(), tables.end());
  return tables;
}

bool table_exists(const std::string& db, const std::string& table) {
  std::error_code ec;
  return fs::exists(fs::path(db) / table / format::kCatalogFile, ec);
}

TableCatalog read_catalog(const std::string& db, const std::string& table) {
  const std::string dir = (fs::path(db) / table).string();
  const std::string path = (fs::path(dir) / format::kCatalogFile).string();
  if (!table_exists(db, table)) {
    std::error_code ec;
    if (!fs::is_directory(db, ec)) {
      throw RuntimeError(fmt::format("no archive at '{}'", db), Location{db});
    }
    throw RuntimeError(fmt::format("archive '{}' has no table '{}'", db, table), Location{dir});
  }
  TableCatalog catalog =
      format::catalog_from_json(format::parse_checked_json(format::read_file(path), path), path);
  catalog.table_dir = dir;
  return catalog;
}

ReaderLock::ReaderLock(const std::string& db, const std::string& table) {
  const std::string path = (fs::path(db) / table / format::kReaderLock).string();
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return;  // no such table (yet): nothing to protect
  while (::flock(fd_, LOCK_SH) != 0 && errno == EINTR) {
  }
}

ReaderLock::~ReaderLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

}  // namespace tickflow::archive
