// Tracks, per source, which emitted events reached a terminal state in every sink they were routed
// to, and reports the longest fully-terminal prefix in order. This is what gates cursor commits:
// a source's cursor never moves past an event that some sink still holds.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>

namespace siem {

class AckTracker {
 public:
  // `on_advance(upto)` is called with strictly increasing values, under the tracker's lock, each
  // time the terminal prefix grows; it must be quick and must not call back into the tracker.
  explicit AckTracker(std::function<void(std::uint64_t upto)> on_advance);

  // Registers the next event. Sequence numbers start at 1 and are contiguous; `fanout` is the
  // number of sinks the event was routed to (0 = terminal at once).
  void add(std::uint64_t seq, std::uint32_t fanout);

  // One sink is done with each of `seqs` (any order). Completing an unknown or already-terminal
  // sequence is a programming error and is ignored (counted in ignored()).
  void complete(std::span<const std::uint64_t> seqs);
  void complete(std::uint64_t seq) { complete(std::span<const std::uint64_t>(&seq, 1)); }

  // Highest sequence such that it and all before it are terminal (0 = none yet).
  std::uint64_t acknowledged() const;
  // Events registered but not yet terminal.
  std::uint64_t outstanding() const;
  std::uint64_t ignored() const;

 private:
  void advanceLocked();

  std::function<void(std::uint64_t)> on_advance_;
  mutable std::mutex mutex_;             // guards everything below
  std::deque<std::uint32_t> remaining_;  // remaining_[i] = sinks still holding seq base_ + i
  std::uint64_t base_ = 1;               // seq of remaining_.front()
  std::uint64_t outstanding_ = 0;
  std::uint64_t ignored_ = 0;
};

}  // namespace siem
