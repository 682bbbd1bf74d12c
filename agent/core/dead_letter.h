// The dead-letter file of one sink: data_dir/dead_letter/<sink>.ndjson, one JSON object per line
// {"time":"<RFC 3339>","sink":"<id>","source":"<id>","id":"<audit-log id>","type":"<type>",
//  "reason":"<why>","event":<the event as the sink would have sent it, or as a JSON string when
//  that form is not JSON>}. A line is written and fsynced before the event counts as terminal.
#pragma once

#include <mutex>
#include <span>
#include <string>

#include "agent/api/event.h"
#include "agent/api/result.h"
#include "agent/core/unique_fd.h"

namespace siem {

class DeadLetterFile {
 public:
  DeadLetterFile(std::string dir, std::string sink_id, Encoding encoding);
  DeadLetterFile(const DeadLetterFile&) = delete;
  DeadLetterFile& operator=(const DeadLetterFile&) = delete;

  // Appends one line per event with its reason and fsyncs. Thread-safe.
  Result<void> write(std::span<const EventPtr> events, std::span<const std::string> reasons);

  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string sink_id_;
  Encoding encoding_;
  std::string path_;
  std::mutex mutex_;  // guards fd_
  UniqueFd fd_;
};

}  // namespace siem
