// Internals of the archive format shared by the writer and the reader: how a chunk of one
// column is encoded and compressed, checksums, file names, and durable file writes.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tickflow/archive.hpp"
#include "tickflow/batch.hpp"

namespace tickflow::archive::format {

constexpr std::string_view kCatalogFile = "catalog.json";
constexpr std::string_view kManifestFile = "manifest.json";
constexpr std::string_view kTimeFile = "timestamp.col";
constexpr std::string_view kSequenceFile = "sequence.col";
constexpr std::string_view kWriterLock = ".writer.lock";
constexpr std::string_view kReaderLock = ".reader.lock";
// Column file of a field: "f_PRICE.col" (field names are [A-Za-z0-9_], so always safe).
std::string field_file(const std::string& field);

// How the values of a column chunk are laid out before compression.
//  plain:  8-byte values (int, double) or 1 byte (bool), byte planes transposed (all first
//          bytes, then all second bytes, ...) so that zstd sees the constant high bytes as runs;
//  delta:  int64 differences from the previous value (the first from 0), then as plain;
//  string: the lengths as uint32, then the bytes of every string.
enum class Encoding { Plain, Delta, String };
Encoding encoding_for(Type type);
std::string_view encoding_name(Encoding encoding);

uint64_t checksum(const void* data, size_t size);

// Encodes values [begin, end) of a column into `out` (replacing it).
void encode_ints(const int64_t* values, size_t n, Encoding encoding, std::string& out);
void encode_column(const Column& column, size_t begin, size_t end, std::string& out);
// Decodes `n` values into `column` (replacing its contents). Returns false when the bytes
// are not a valid encoding of n values.
bool decode_ints(std::string_view bytes, size_t n, Encoding encoding, std::vector<int64_t>& out);
bool decode_column(std::string_view bytes, size_t n, Column& column);

// A decompressed block of one column read in row ranges, decoded straight into the batches
// that hand the rows on (no decoded copy of the whole chunk in between). open() checks the
// whole block, as decode_column does, before any row is used; the block's bytes must outlive
// the reads.
class BlockRows {
 public:
  // False when `bytes` is not a valid encoding of n values of `type`.
  bool open(std::string_view bytes, size_t n, Type type);
  // Appends rows [begin, end) to `out` (of the block's type). Rows asked for in order cost
  // nothing extra; a string row range elsewhere sums the lengths before it.
  void append_rows(size_t begin, size_t end, Column& out) const;

 private:
  uint32_t length_of(size_t row) const {  // string blocks
    uint32_t length;
    std::memcpy(&length, bytes_.data() + row * 4, 4);
    return length;
  }

  std::string_view bytes_;
  size_t rows_ = 0;
  Type type_ = Type::Int;
  Encoding encoding_ = Encoding::Plain;
  std::vector<int64_t> delta_values_;  // delta blocks are decoded whole by open()
  mutable size_t next_string_row_ = 0, next_string_byte_ = 0;
};

// zstd. decompress returns false when the frame is damaged or its size is not raw_size.
void compress(std::string_view raw, int level, std::string& out);
bool decompress(std::string_view compressed, size_t raw_size, std::string& out);

// Symbols become directory names: [A-Za-z0-9_-] and non-leading '.' stay, any other byte is
// %XX; the empty symbol is "%".
std::string escape_symbol(std::string_view symbol);

// Durable writes: the file is written under a temporary name, synced, renamed onto `path`,
// and the directory synced. Throws RuntimeError naming the file.
void write_file_durably(const std::string& path, std::string_view content);
void sync_directory(const std::string& dir);
void sync_file(const std::string& path);
// The whole file; throws RuntimeError (data) naming it when it cannot be read.
std::string read_file(const std::string& path);

// A JSON document followed by a line "xxh3 <16 hex digits>" checksumming it, so that a
// damaged catalog or manifest is detected. parse throws RuntimeError naming `path`.
std::string checked_json_text(const nlohmann::json& document);
nlohmann::json parse_checked_json(const std::string& text, const std::string& path,
                                  uint64_t* checksum_out = nullptr);

// An integer of a document the archive wrote. A float, a string or a value outside the
// type's range means the file is damaged; nlohmann's get<int64_t>() on 1e20 would be
// undefined behaviour, so these check first and throw nlohmann::json::other_error.
int64_t json_int64(const nlohmann::json& value);
uint64_t json_uint64(const nlohmann::json& value);

nlohmann::json catalog_to_json(const TableCatalog& catalog);
TableCatalog catalog_from_json(const nlohmann::json& json, const std::string& path);

}  // namespace tickflow::archive::format
