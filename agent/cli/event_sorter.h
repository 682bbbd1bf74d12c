// Sorting a stream of events of unknown length by (effective_at, id) in bounded memory, for an
// export from an API that cannot list by time (`api: organization_logs` lists in ingestion order).
//
// An external merge sort: add() collects up to `max_in_memory` events; each full chunk is sorted
// and written as a run to a private temporary directory; finish() merges the runs, at most
// `merge_fan_in` at a time (in several passes when there are more), and hands the events out in
// order. The same log listed twice has the same (effective_at, id), so its copies meet in the sort
// and all but one are dropped and counted, without remembering ids. Memory: one chunk while
// reading, one event and one stdio buffer per merged run while merging. Disk: every event once
// per merge pass (the temporary directory is removed when the sorter is destroyed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <vector>

#include "agent/api/event.h"
#include "agent/api/result.h"

namespace siem::cli {

// Orders events by (effective_at, id).
bool eventBefore(const Event& a, const Event& b);

// Not thread-safe.
class EventSorter {
 public:
  static constexpr std::size_t kDefaultMergeFanIn = 64;

  // `spill_dir`: where the temporary directory is created when the events do not fit in memory;
  // empty means the system's temporary directory (TMPDIR, else /tmp).
  EventSorter(std::size_t max_in_memory, std::filesystem::path spill_dir,
              std::size_t merge_fan_in = kDefaultMergeFanIn);
  ~EventSorter();
  EventSorter(const EventSorter&) = delete;
  EventSorter& operator=(const EventSorter&) = delete;

  // Fails when a run cannot be written (the message names the file and the reason).
  Result<void> add(Event event);
  // Every added event once, ascending by (effective_at, id); stops early when `on_event` returns
  // false. Call once, after the last add().
  Result<void> finish(const std::function<bool(Event&)>& on_event);

  // Copies dropped because the same (effective_at, id) was added before.
  std::uint64_t duplicates() const { return duplicates_; }
  // Sorted runs written to disk, intermediate merge passes included (0: it fitted in memory).
  std::uint64_t runsWritten() const { return runs_written_; }
  // The temporary directory, empty until the first run is written.
  const std::filesystem::path& tempDir() const { return temp_dir_; }

 private:
  Result<void> spill();
  Result<std::filesystem::path> newRunPath();
  // Merges `runs` (deleting them) into on_event, dropping repeated keys.
  Result<void> merge(const std::vector<std::filesystem::path>& runs,
                     const std::function<bool(Event&)>& on_event);

  std::size_t max_in_memory_;
  std::size_t merge_fan_in_;
  std::filesystem::path spill_dir_;
  std::filesystem::path temp_dir_;
  std::vector<Event> chunk_;
  std::vector<std::filesystem::path> runs_;
  std::uint64_t next_run_ = 0;
  std::uint64_t duplicates_ = 0;
  std::uint64_t runs_written_ = 0;
};

}  // namespace siem::cli
