// Output formats of SPEC §5 and atomic output files. Used by `tickflow run` for the
// query's output and by write_csv / write_jsonl.
#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tickflow/batch.hpp"
#include "tickflow/schema.hpp"
#include "tickflow/time.hpp"

namespace tickflow {

enum class OutputFormat { Csv, Jsonl, Table };
std::optional<OutputFormat> parse_output_format(std::string_view name);
std::string_view output_format_extension(OutputFormat format);  // "csv", "jsonl", "txt"

// A byte destination: stdout or a file written under a temporary name in the same
// directory and renamed onto the target by commit(). Until commit() the target is
// untouched; abort() (or destruction without commit) removes the temporary file.
class OutputFile {
 public:
  // Throws RuntimeError when the temporary file cannot be created.
  static std::unique_ptr<OutputFile> open(const std::string& path);
  static std::unique_ptr<OutputFile> standard_output();
  // Bytes kept in memory until take_memory() (a server formatting ticks for a response).
  static std::unique_ptr<OutputFile> memory();
  ~OutputFile();

  void write(std::string_view bytes);  // throws RuntimeError on I/O failure
  void commit();                       // flush, close, rename; throws on failure
  void abort() noexcept;
  const std::string& path() const { return path_; }
  // A memory output's bytes written so far; they are removed from it.
  std::string take_memory();

 private:
  OutputFile() = default;
  std::FILE* file_ = nullptr;
  std::string path_;
  std::string temp_path_;
  bool is_stdout_ = false;
  bool done_ = false;
  bool is_memory_ = false;
  std::string memory_;
};

// The zone of QueryInfo::output_time_zone for TickWriter::set_output_zone: nullopt for ""
// (UTC without an offset) or a name the tz database does not know (the loader refuses it).
std::optional<TimeZone> output_zone(std::string_view output_time_zone);

// Removes every temporary output file not yet committed or aborted. Async-signal-safe:
// the CLI calls it from its SIGINT/SIGTERM handler so an interrupted run leaves nothing.
void remove_unfinished_output_files() noexcept;

// Formats ticks of one schema. CSV: header, TIMESTAMP first as YYYY-MM-DD HH:MM:SS.nnnnnnnnn,
// then SYMBOL when `symbol_column` is set, then fields in schema order; doubles shortest
// round-trip, nan/inf/-inf; bools true/false; strings quoted per RFC 4180 when needed;
// durations as integer ns; time fields like TIMESTAMP. JSONL: one object per tick, times
// as strings, NaN/inf as null. Table: aligned columns (buffers all ticks until finish()).
//
// `symbol_column` set: a SYMBOL column follows TIMESTAMP, holding this value until
// set_symbol() changes it; a schema field named SYMBOL is then not printed a second time.
// Output reaches `out` in chunks of about 1 MB and on finish().
//
// write() formats a large CSV or JSON-lines batch in row ranges on the threads of the
// task arena it is called in (its --threads), each range into its own buffer, and writes
// them in order: the bytes never depend on the thread count or on how ticks are batched.
// One TickWriter is used by one thread at a time.
class TickWriter {
 public:
  TickWriter(OutputFormat format, SchemaPtr schema, OutputFile& out,
             std::optional<std::string> symbol_column = std::nullopt);
  ~TickWriter();
  // Replaces the SYMBOL column value for the following ticks (multi-symbol output); no
  // effect when the writer was made without a SYMBOL column.
  void set_symbol(std::string symbol);
  // Prints TIMESTAMP and time fields as `zone`'s wall clock with the offset,
  // "YYYY-MM-DD HH:MM:SS.nnnnnnnnn-05:00" (--output-tz, SPEC §17), also for zone UTC
  // ("+00:00"). Call before the first write(); without it times print in UTC, no offset.
  void set_output_zone(const TimeZone& zone);
  void write(const Batch& batch);
  // Passes what is buffered to the output now (not for table, which is written at the end).
  void flush();
  // Writes what is buffered (the header alone when no tick came). Does not commit `out`.
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tickflow
