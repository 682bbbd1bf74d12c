#include "agent/core/ack_tracker.h"

#include <utility>

namespace siem {

AckTracker::AckTracker(std::function<void(std::uint64_t)> on_advance)
    : on_advance_(std::move(on_advance)) {}

void AckTracker::add(std::uint64_t seq, std::uint32_t fanout) {
  std::lock_guard lock(mutex_);
  if (seq != base_ + remaining_.size()) {
    ++ignored_;
    return;
  }
  remaining_.push_back(fanout);
  if (fanout > 0) ++outstanding_;
  advanceLocked();
}

void AckTracker::complete(std::span<const std::uint64_t> seqs) {
  std::lock_guard lock(mutex_);
  for (std::uint64_t seq : seqs) {
    if (seq < base_ || seq - base_ >= remaining_.size() || remaining_[seq - base_] == 0) {
      ++ignored_;
      continue;
    }
    if (--remaining_[seq - base_] == 0) --outstanding_;
  }
  advanceLocked();
}

void AckTracker::advanceLocked() {
  std::uint64_t before = base_;
  while (!remaining_.empty() && remaining_.front() == 0) {
    remaining_.pop_front();
    ++base_;
  }
  if (base_ != before && on_advance_) on_advance_(base_ - 1);
}

std::uint64_t AckTracker::acknowledged() const {
  std::lock_guard lock(mutex_);
  return base_ - 1;
}

std::uint64_t AckTracker::outstanding() const {
  std::lock_guard lock(mutex_);
  return outstanding_;
}

std::uint64_t AckTracker::ignored() const {
  std::lock_guard lock(mutex_);
  return ignored_;
}

}  // namespace siem
