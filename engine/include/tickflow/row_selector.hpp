// RowSelectingOperator: a base for operators that pass each input tick on unchanged to one
// of their output ports, or drop it — filters (head, where's pass/fail), samplers, routers.
// In the spirit of ClickHouse's ISimpleTransform: the subclass only decides, per tick, where
// it goes; the base moves the ticks.
//
// Contract:
// - One input; every output port has the input's schema and order (declare them so at bind
//   time, e.g. ctx.set_output(port, ctx.input(0).schema, ctx.input(0).time_ordered)).
// - select(window, rows, ports) is called once per batch with ports.size() == rows; it sets
//   ports[r] to the output port of tick r, or kDrop. With lead > 0 (an expression with X[+k]
//   decides) the window holds `lead` more ticks after `rows`: lookahead, read-only, decided
//   in a later call (see tickflow/lookahead.hpp; declare lookahead_accumulation(lead)).
// - Ticks keep their order within each port. A port nothing reads (OutputSink::connected
//   false) gets no ticks: they are neither gathered nor emitted, like dropped ones. The
//   engine reports a port number the EP does not declare as unread, so select() must only
//   use the EP's own ports (0 .. outputs - 1; at most 255).
// - The common cases cost no copy: every tick to one port emits the batch itself; one port
//   taking some ticks compacts the batch in place; only ticks spread over several read
//   ports are gathered into a batch per port (strings moved, not copied).
// - held() reports the lookahead ticks. A subclass that also holds ticks of its own
//   overrides held() and adds Base::held().
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "tickflow/batch.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/lookahead.hpp"
#include "tickflow/rows.hpp"

namespace tickflow {

class RowSelectingOperator : public Operator {
 public:
  static constexpr uint8_t kDrop = 0xff;

  // `lead`: the ticks of lookahead select() needs (CompiledExpr::max_lead()), 0 for none.
  explicit RowSelectingOperator(size_t lead = 0) : lookahead_(lead) {}

  void process(size_t, Batch&& batch, OutputSink& out) final {
    lookahead_.push(std::move(batch),
                    [&](Batch& window, size_t rows) { route(window, rows, out); });
  }
  void finish(OutputSink& out) final {
    lookahead_.finish([&](Batch& window, size_t rows) { route(window, rows, out); });
  }
  Held held() const override { return lookahead_.held(); }

 protected:
  // Sets ports[r] (r < rows) to the port of tick r of `window`, or kDrop.
  virtual void select(const Batch& window, size_t rows, std::vector<uint8_t>& ports) = 0;

 private:
  void route(Batch& window, size_t rows, OutputSink& out) {
    ports_.assign(rows, kDrop);
    select(window, rows, ports_);
    truncate_rows(window, rows);
    // Ticks per port (one plain pass; kDrop is counted too and ignored). Ports nothing reads
    // are treated as dropped.
    counts_.fill(0);
    for (uint8_t port : ports_) ++counts_[port];
    size_t used = 0, only = 0, end = 0;
    bool unread_ticks = false;
    for (size_t p = 0; p < kDrop; ++p) {
      read_[p] = counts_[p] > 0 && out.connected(p);
      if (!read_[p]) {
        unread_ticks = unread_ticks || counts_[p] > 0;
        continue;
      }
      ++used;
      only = p;
      end = p + 1;
    }
    if (used == 0) return;
    if (used == 1) {
      if (counts_[only] < rows) {
        const uint8_t keep = static_cast<uint8_t>(only);
        const uint8_t* ports = ports_.data();
        keep_rows(
            window, [ports, keep](size_t r) { return ports[r] == keep; }, counts_[only]);
      }
      out.emit(only, std::move(window));
      return;
    }
    if (unread_ticks) {
      for (uint8_t& port : ports_) {
        if (port != kDrop && !read_[port]) port = kDrop;
      }
    }
    // Several ports: one pass per column scatters the ticks to their port's batch.
    std::vector<Batch> parts(end);
    for (size_t p = 0; p < end; ++p) {
      parts[p].schema = window.schema;
      for (const Column& column : window.columns) parts[p].columns.emplace_back(column.type());
    }
    auto scatter = [&](auto& from, auto&& target_of) {
      using T = typename std::remove_reference_t<decltype(from)>::value_type;
      std::vector<T*> next(end, nullptr);  // where each port's next tick goes
      for (size_t p = 0; p < end; ++p) {
        if (!read_[p]) continue;
        auto& target = target_of(p);
        target.resize(counts_[p]);
        next[p] = target.data();
      }
      const uint8_t* ports = ports_.data();
      for (size_t r = 0; r < rows; ++r) {
        if (ports[r] != kDrop) *next[ports[r]]++ = from[r];
      }
    };
    scatter(window.times, [&](size_t p) -> std::vector<int64_t>& { return parts[p].times; });
    for (size_t c = 0; c < window.columns.size(); ++c) {
      with_value_type(window.columns[c].type(), [&]<class T>() {
        if constexpr (std::is_same_v<T, std::string>) {
          const StringColumn& from = window.columns[c].strings();
          const uint8_t* ports = ports_.data();
          for (size_t p = 0; p < end; ++p) {
            if (read_[p]) parts[p].columns[c].strings().reserve(counts_[p]);
          }
          for (size_t r = 0; r < rows; ++r) {
            if (ports[r] != kDrop) parts[ports[r]].columns[c].strings().push_back_from(from, r);
          }
        } else {
          scatter(window.columns[c].values<T>(),
                  [&](size_t p) -> std::vector<T>& { return parts[p].columns[c].values<T>(); });
        }
      });
    }
    for (size_t p = 0; p < end; ++p) {
      if (read_[p]) out.emit(p, std::move(parts[p]));
    }
  }

  Lookahead lookahead_;
  std::vector<uint8_t> ports_;
  std::array<size_t, 256> counts_{};  // per port (kDrop last)
  std::array<bool, 256> read_{};      // per port: has ticks and is connected
};

}  // namespace tickflow
