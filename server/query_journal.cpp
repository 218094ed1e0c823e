#include "query_journal.hpp"

#include <cstring>

namespace tickflow::server {
namespace {

void put(std::string& out, const void* data, size_t n) {
  out.append(static_cast<const char*>(data), n);
}

void put_text(std::string& out, const std::string& text) {
  const auto n = static_cast<uint32_t>(text.size());
  put(out, &n, 4);
  out += text;
}

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  template <class T>
  bool get(T& value) {
    if (bytes_.size() < sizeof(T)) return false;
    std::memcpy(&value, bytes_.data(), sizeof(T));
    bytes_.remove_prefix(sizeof(T));
    return true;
  }
  bool get_text(std::string& text) {
    uint32_t n = 0;
    if (!get(n) || bytes_.size() < n) return false;
    text.assign(bytes_.substr(0, n));
    bytes_.remove_prefix(n);
    return true;
  }
  bool done() const { return bytes_.empty(); }

 private:
  std::string_view bytes_;
};

}  // namespace

std::vector<double> encode_query_record(const QueryRecord& record) {
  std::string bytes;
  const uint8_t head[4] = {static_cast<uint8_t>(record.kind),
                           static_cast<uint8_t>(record.format == eps::PushFormat::Csv ? 0 : 1), 0,
                           0};
  put(bytes, head, 4);
  put_text(bytes, record.node);
  put_text(bytes, record.symbol);
  put(bytes, &record.time, 8);
  put_text(bytes, record.body);
  const uint64_t length = bytes.size();
  std::vector<double> words(1 + (bytes.size() + 7) / 8, 0.0);
  std::memcpy(words.data(), &length, 8);
  std::memcpy(words.data() + 1, bytes.data(), bytes.size());
  return words;
}

std::optional<QueryRecord> decode_query_record(std::span<const double> words) {
  if (words.empty()) return std::nullopt;
  uint64_t length = 0;
  std::memcpy(&length, words.data(), 8);
  if (length > (words.size() - 1) * 8 || length + 7 < (words.size() - 1) * 8) return std::nullopt;
  std::string bytes(length, '\0');
  std::memcpy(bytes.data(), words.data() + 1, length);
  Reader in(bytes);
  uint8_t head[4];
  QueryRecord record;
  if (!in.get(head) || (head[0] != 1 && head[0] != 2) || head[1] > 1) return std::nullopt;
  record.kind = static_cast<QueryRecord::Kind>(head[0]);
  record.format = head[1] == 0 ? eps::PushFormat::Csv : eps::PushFormat::JsonLines;
  if (!in.get_text(record.node) || !in.get_text(record.symbol) || !in.get(record.time) ||
      !in.get_text(record.body) || !in.done()) {
    return std::nullopt;
  }
  return record;
}

}  // namespace tickflow::server
