#include <algorithm>

#include "tickflow/run.hpp"

namespace tickflow {

RunProgress::Run::Run(RunProgress& owner, std::string symbol, size_t sources)
    : owner_(owner),
      symbol_(std::move(symbol)),
      count_(sources),
      sources_(std::make_unique<SourceProgress[]>(sources)) {
  std::lock_guard lock(owner_.mutex_);
  position_ = owner_.runs_.insert(owner_.runs_.end(), this);
}

RunProgress::Run::~Run() {
  std::lock_guard lock(owner_.mutex_);
  owner_.runs_.erase(position_);
  ++owner_.finished_;
}

RunProgress::Snapshot RunProgress::snapshot() const {
  std::lock_guard lock(mutex_);
  Snapshot snapshot;
  snapshot.finished = finished_;
  std::vector<Running>& out = snapshot.running;
  out.reserve(runs_.size());
  for (const Run* run : runs_) {
    Running r{run->symbol_, std::nullopt};
    for (size_t i = 0; i < run->count_; ++i) {
      const std::optional<double> f = run->sources_[i].fraction();
      if (!f) {
        r.fraction.reset();
        break;
      }
      r.fraction = i == 0 ? *f : std::min(*r.fraction, *f);
    }
    out.push_back(std::move(r));
  }
  return snapshot;
}

}  // namespace tickflow
