// The journal of `tickflow serve --journal DIR`: every accepted batch is appended to its
// symbol's file before the response, and replayed at start-up.
//
// Format: one file per symbol, DIR/<symbol as hex>.journal, so symbols append in parallel.
//   header: "TFJRNL01", u32 symbol length, symbol bytes, u32 CRC-32 of the symbol
//   record:  u32 value count, u32 CRC-32 of (count, values), count little-endian doubles
// Guarantees:
// - A batch is in the file (written with write(2)) before its response: after kill -9 of
//   the server every acknowledged batch is replayed. With --fsync always it is also on the
//   disk (fdatasync) before the response, so it survives a power loss; with interval the
//   files are synced every second; with never, when the OS writes them.
// - A torn tail (an incomplete or checksum-failing last record, left by a crash in the
//   middle of a write) is reported on stderr with the word "torn" and truncated; that batch
//   was never acknowledged. Damage anywhere else (a bad header, a bad record followed by
//   more data) stops the start-up with an error naming the file and byte offset ("damaged").
// - A failed append (disk full) is cut back off the file, so the file never holds a batch
//   that was refused.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace tickflow::server {

enum class FsyncPolicy { always, interval, never };
std::optional<FsyncPolicy> parse_fsync_policy(std::string_view text);

// What a record's 8-byte words are: finite doubles (the statistics service; anything else is
// damage) or raw words (the standing queries' journal packs its records' bytes into them).
enum class JournalWords { finite_doubles, raw };

class JournalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One symbol's journal file, open for appending. append() is called by one thread at a
// time (the symbol's strand); sync() may run concurrently from the flusher.
class JournalFile {
 public:
  JournalFile(int fd, std::string path, uint64_t size, FsyncPolicy policy);
  ~JournalFile();
  JournalFile(const JournalFile&) = delete;
  JournalFile& operator=(const JournalFile&) = delete;

  // Throws JournalError (with the file name) when the record cannot be written; the file is
  // then as it was before the call.
  void append(std::span<const double> values);
  // fdatasync when something was written since the last sync.
  void sync();
  const std::string& path() const { return path_; }

 private:
  int fd_;
  std::string path_;
  uint64_t size_;
  FsyncPolicy policy_;
  std::atomic<bool> dirty_{false};
  std::vector<unsigned char> buffer_;
};

class Journal {
 public:
  // Called for each journaled batch of each symbol at replay, in append order per symbol.
  using ApplyBatch = std::function<void(const std::string& symbol, std::span<const double>)>;
  // Receives notes for stderr (a torn tail that was truncated).
  using Report = std::function<void(const std::string& message)>;

  // Opens (creating) DIR, replays every file through `apply`, truncates torn tails and opens
  // the files for appending. Throws JournalError for damage or I/O errors.
  Journal(std::string directory, FsyncPolicy policy, const ApplyBatch& apply, const Report& report,
          JournalWords words = JournalWords::finite_doubles);
  // Stops the flusher and syncs every file.
  ~Journal();

  // The file of `symbol`: the replayed one, or a new one with its header written.
  JournalFile& file_for(const std::string& symbol);
  // Symbols found at replay, in file-name order.
  const std::vector<std::string>& replayed_symbols() const { return replayed_; }
  void sync_all();
  // Closes and deletes the file of `symbol` (a standing query that was stopped).
  void remove(const std::string& symbol);

  static std::string file_name_for(std::string_view symbol);

 private:
  void replay_file(const std::string& path, const ApplyBatch& apply, const Report& report);
  void flush_every_second();

  std::string directory_;
  FsyncPolicy policy_;
  JournalWords words_;
  std::mutex mutex_;  // guards files_
  std::unordered_map<std::string, std::unique_ptr<JournalFile>> files_;
  std::vector<std::string> replayed_;
  std::mutex stop_mutex_;
  std::condition_variable stop_signal_;
  bool stopping_ = false;
  std::thread flusher_;
};

}  // namespace tickflow::server
