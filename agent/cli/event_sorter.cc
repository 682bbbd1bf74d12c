#include "agent/cli/event_sorter.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

namespace siem::cli {
namespace {

// A run is a sequence of records: effective_at (int64), outcome (uint8), then id, type,
// actor_type, actor_id, actor_email, project_id and raw, each as a uint32 length and the bytes.
// Runs live only for one export on one machine, so the byte order is the machine's.
constexpr std::uint32_t kMaxFieldBytes = 1U << 30;

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

std::string errnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

class RunWriter {
 public:
  static Result<RunWriter> open(const std::filesystem::path& path) {
    FilePtr file(std::fopen(path.c_str(), "wbx"));
    if (!file) {
      return fail(
          fmt::format("cannot create the sort file {}: {}", path.string(), errnoText(errno)));
    }
    return RunWriter(std::move(file), path);
  }

  Result<void> write(const Event& event) {
    const std::int64_t at = event.effective_at;
    const auto outcome = static_cast<std::uint8_t>(event.outcome);
    bool ok = std::fwrite(&at, sizeof at, 1, file_.get()) == 1 &&
              std::fwrite(&outcome, sizeof outcome, 1, file_.get()) == 1;
    for (const std::string* field : {&event.id, &event.type, &event.actor_type, &event.actor_id,
                                     &event.actor_email, &event.project_id, &event.raw}) {
      if (!ok) break;
      const auto size =
          static_cast<std::uint32_t>(std::min<std::size_t>(field->size(), kMaxFieldBytes));
      ok = std::fwrite(&size, sizeof size, 1, file_.get()) == 1 &&
           (size == 0 || std::fwrite(field->data(), 1, size, file_.get()) == size);
    }
    if (!ok) return failure();
    return {};
  }

  // Flushes and closes; reports what the writes left unreported (e.g. a full disk).
  Result<void> close() {
    bool ok = std::fflush(file_.get()) == 0 && std::ferror(file_.get()) == 0;
    int error = ok ? 0 : errno;
    if (std::fclose(file_.release()) != 0 && ok) {
      ok = false;
      error = errno;
    }
    if (!ok) {
      return fail(
          fmt::format("cannot write the sort file {}: {}", path_.string(), errnoText(error)));
    }
    return {};
  }

 private:
  RunWriter(FilePtr file, std::filesystem::path path)
      : file_(std::move(file)), path_(std::move(path)) {}
  tl::unexpected<Error> failure() const {
    return fail(fmt::format("cannot write the sort file {}: {}", path_.string(), errnoText(errno)));
  }

  FilePtr file_;
  std::filesystem::path path_;
};

class RunReader {
 public:
  static Result<RunReader> open(const std::filesystem::path& path) {
    FilePtr file(std::fopen(path.c_str(), "rb"));
    if (!file) {
      return fail(fmt::format("cannot open the sort file {}: {}", path.string(), errnoText(errno)));
    }
    return RunReader(std::move(file), path);
  }

  // The next event into `event`; false at the end of the run.
  Result<bool> next(Event& event) {
    std::int64_t at = 0;
    if (std::fread(&at, sizeof at, 1, file_.get()) != 1) {
      if (std::feof(file_.get()) && std::ftell(file_.get()) == offset_) return false;
      return broken();
    }
    std::uint8_t outcome = 0;
    if (std::fread(&outcome, sizeof outcome, 1, file_.get()) != 1) return broken();
    event = Event{};
    event.effective_at = at;
    event.outcome = static_cast<Outcome>(outcome);
    for (std::string* field : {&event.id, &event.type, &event.actor_type, &event.actor_id,
                               &event.actor_email, &event.project_id, &event.raw}) {
      std::uint32_t size = 0;
      if (std::fread(&size, sizeof size, 1, file_.get()) != 1 || size > kMaxFieldBytes) {
        return broken();
      }
      field->resize(size);
      if (size > 0 && std::fread(field->data(), 1, size, file_.get()) != size) return broken();
    }
    offset_ = std::ftell(file_.get());
    return true;
  }

 private:
  RunReader(FilePtr file, std::filesystem::path path)
      : file_(std::move(file)), path_(std::move(path)) {}
  tl::unexpected<Error> broken() const {
    return fail(fmt::format("cannot read the sort file {}: {}", path_.string(),
                            std::ferror(file_.get()) ? errnoText(errno) : "it ends mid-record"));
  }

  FilePtr file_;
  std::filesystem::path path_;
  long offset_ = 0;  // end of the last complete record
};

}  // namespace

bool eventBefore(const Event& a, const Event& b) {
  return a.effective_at != b.effective_at ? a.effective_at < b.effective_at : a.id < b.id;
}

EventSorter::EventSorter(std::size_t max_in_memory, std::filesystem::path spill_dir,
                         std::size_t merge_fan_in)
    : max_in_memory_(std::max<std::size_t>(1, max_in_memory)),
      merge_fan_in_(std::max<std::size_t>(2, merge_fan_in)),
      spill_dir_(std::move(spill_dir)) {}

EventSorter::~EventSorter() {
  if (temp_dir_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(temp_dir_, ec);
}

Result<void> EventSorter::add(Event event) {
  if (chunk_.size() >= max_in_memory_) {
    if (auto spilled = spill(); !spilled) return spilled;
  }
  chunk_.push_back(std::move(event));
  return {};
}

Result<std::filesystem::path> EventSorter::newRunPath() {
  if (temp_dir_.empty()) {
    std::filesystem::path base = spill_dir_;
    if (base.empty()) {
      std::error_code ec;
      base = std::filesystem::temp_directory_path(ec);
      if (ec) return fail(fmt::format("no temporary directory for sorting: {}", ec.message()));
    }
    std::string pattern = (base / ".siem-agent-sort-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return fail(fmt::format("cannot create a temporary directory for sorting in {}: {}",
                              base.string(), errnoText(errno)));
    }
    temp_dir_ = pattern;
  }
  return temp_dir_ / fmt::format("run-{}", next_run_++);
}

Result<void> EventSorter::spill() {
  if (chunk_.empty()) return {};
  std::sort(chunk_.begin(), chunk_.end(), eventBefore);
  auto path = newRunPath();
  if (!path) return tl::unexpected(std::move(path.error()));
  auto writer = RunWriter::open(*path);
  if (!writer) return tl::unexpected(std::move(writer.error()));
  const Event* last = nullptr;
  for (const Event& event : chunk_) {
    if (last != nullptr && last->effective_at == event.effective_at && last->id == event.id) {
      ++duplicates_;
      continue;
    }
    if (auto written = writer->write(event); !written) return written;
    last = &event;
  }
  if (auto closed = writer->close(); !closed) return closed;
  chunk_.clear();
  runs_.push_back(std::move(*path));
  ++runs_written_;
  return {};
}

Result<void> EventSorter::merge(const std::vector<std::filesystem::path>& runs,
                                const std::function<bool(Event&)>& on_event) {
  struct Head {
    Event event;
    std::size_t run;
  };
  // A min-heap on (effective_at, id).
  const auto later = [](const Head& a, const Head& b) { return eventBefore(b.event, a.event); };
  std::vector<RunReader> readers;
  std::vector<Head> heap;
  readers.reserve(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    auto reader = RunReader::open(runs[i]);
    if (!reader) return tl::unexpected(std::move(reader.error()));
    readers.push_back(std::move(*reader));
    Head head{Event{}, i};
    auto got = readers.back().next(head.event);
    if (!got) return tl::unexpected(std::move(got.error()));
    if (*got) heap.push_back(std::move(head));
  }
  std::make_heap(heap.begin(), heap.end(), later);
  std::optional<std::int64_t> last_at;
  std::string last_id;
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    Head& head = heap.back();
    if (last_at && *last_at == head.event.effective_at && last_id == head.event.id) {
      ++duplicates_;
    } else {
      last_at = head.event.effective_at;
      last_id = head.event.id;
      if (!on_event(head.event)) return {};
    }
    auto got = readers[head.run].next(head.event);
    if (!got) return tl::unexpected(std::move(got.error()));
    if (*got) {
      std::push_heap(heap.begin(), heap.end(), later);
    } else {
      heap.pop_back();
    }
  }
  for (const auto& run : runs) {
    std::error_code ec;
    std::filesystem::remove(run, ec);
  }
  return {};
}

Result<void> EventSorter::finish(const std::function<bool(Event&)>& on_event) {
  if (runs_.empty()) {
    // Everything fitted in memory.
    std::sort(chunk_.begin(), chunk_.end(), eventBefore);
    const Event* last = nullptr;
    for (Event& event : chunk_) {
      if (last != nullptr && last->effective_at == event.effective_at && last->id == event.id) {
        ++duplicates_;
        continue;
      }
      if (!on_event(event)) break;
      last = &event;
    }
    chunk_.clear();
    return {};
  }
  if (auto spilled = spill(); !spilled) return spilled;
  chunk_.shrink_to_fit();
  // Merge passes until one merge can take every run.
  while (runs_.size() > merge_fan_in_) {
    const std::vector<std::filesystem::path> group(
        runs_.begin(), runs_.begin() + static_cast<std::ptrdiff_t>(merge_fan_in_));
    runs_.erase(runs_.begin(), runs_.begin() + static_cast<std::ptrdiff_t>(merge_fan_in_));
    auto path = newRunPath();
    if (!path) return tl::unexpected(std::move(path.error()));
    auto writer = RunWriter::open(*path);
    if (!writer) return tl::unexpected(std::move(writer.error()));
    Result<void> written;
    auto merged = merge(group, [&](Event& event) {
      written = writer->write(event);
      return written.has_value();
    });
    if (!merged) return merged;
    if (!written) return written;
    if (auto closed = writer->close(); !closed) return closed;
    runs_.push_back(std::move(*path));
    ++runs_written_;
  }
  const std::vector<std::filesystem::path> last = std::move(runs_);
  runs_.clear();
  return merge(last, on_event);
}

}  // namespace siem::cli
