// Reading a backfill ahead of the source thread. While a source catches up, the windows after the
// one it is emitting are fetched by reader threads, each with its own connection and all under
// the source's one request budget, so that pulling overlaps emitting and several windows are
// paged at once. Results come back strictly in the order the windows were scheduled: the source
// still emits in (effective_at, id) order and moves its cursor exactly as if it had read the
// windows one after another.
//
// The source schedules only windows that end more than lookback_secs before the time they are
// scheduled: the cursor never reads such a window again (window.h), so reading it early changes
// nothing. A reader gives up on a window at the first sign of trouble (a refused request, a
// pagination loop, a one-second window too dense to split); the source then reads that window
// itself, with its usual handling and reporting.
//
// A window read whole is handed, on its reader thread, to the `prepare` hook (the pipeline's
// EventEmitter::prepare, which renders the events for their sinks) before the source takes it, so
// that this work runs beside the source thread instead of on it. Events the source later drops
// as already emitted were prepared for nothing; that is the price of doing it early.
//
// Memory: at most `readers` windows are scheduled, each of at most `max_events` events (with
// their rendered forms once prepared) plus one page.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stop_token>
#include <thread>
#include <vector>

#include "agent/api/event.h"
#include "agent/sources/openai/client.h"
#include "agent/sources/openai/window.h"

namespace siem {

class WindowReadAhead {
 public:
  enum class Status : std::uint8_t {
    kDone,      // every page was read: `events` holds the window's events, each id once
    kOverflow,  // more than max_events events: the window must be split; `events` holds the
                // newest of them (page order, newest first)
    kGaveUp,    // the source must read this window itself
  };
  struct Read {
    TimeWindow window;
    Status status = Status::kGaveUp;
    std::vector<Event> events;
  };
  // Called on reader threads after each page: how many of its events lay outside the window,
  // and how many repeated an id already read for the window.
  using PageFn = std::function<void(std::uint64_t outside, std::uint64_t repeated)>;
  // Makes the client of one reader thread.
  using ClientFactory = std::function<std::unique_ptr<OpenAiClient>()>;
  // Called on reader threads, concurrently, with the events of a window read whole (kDone), in
  // slices, before take() returns them. Must be thread-safe for distinct events and not throw.
  using PrepareFn = std::function<void(std::span<Event>)>;

  // `prepare` may be empty. The caller keeps what it captures alive until this is destroyed.
  WindowReadAhead(std::size_t readers, std::size_t max_events, ClientFactory make_client,
                  PageFn on_page, PrepareFn prepare = {});
  // Abandons what is scheduled and joins the readers.
  ~WindowReadAhead();
  WindowReadAhead(const WindowReadAhead&) = delete;
  WindowReadAhead& operator=(const WindowReadAhead&) = delete;

  std::size_t readers() const { return readers_.size(); }
  std::size_t maxEvents() const { return max_events_; }
  // Windows scheduled and not yet taken.
  std::size_t scheduled() const;
  // The first scheduled window not yet taken, if any.
  std::optional<TimeWindow> front() const;
  // The last window scheduled, if any is still scheduled.
  std::optional<TimeWindow> back() const;

  // Queues `window` for the next free reader. The caller keeps at most readers() scheduled.
  void schedule(const TimeWindow& window);
  // Waits for the first scheduled window and returns it; nullopt when `stop` was requested.
  std::optional<Read> take(const std::stop_token& stop);
  // Abandons every scheduled window; reads in progress stop at their next request.
  void cancel();

 private:
  struct Job {
    TimeWindow window;
    std::stop_source abandon;
    bool started = false;
    bool done = false;
    Read result;
  };

  void readerLoop(const std::stop_token& stop, OpenAiClient& client);
  Read read(OpenAiClient& client, const TimeWindow& window, const std::stop_token& abandon);
  void prepare(std::vector<Event>& events, const std::stop_token& abandon) const;

  const std::size_t max_events_;
  // Events the last window held: a new window reserves about that much, so that its events are
  // rarely moved while it is read.
  std::atomic<std::size_t> last_count_{0};
  ClientFactory make_client_;
  PageFn on_page_;
  PrepareFn prepare_;

  mutable std::mutex mutex_;               // guards jobs_
  std::condition_variable_any work_cv_;    // readers: a job was scheduled
  std::condition_variable_any done_cv_;    // take(): a job finished
  std::deque<std::shared_ptr<Job>> jobs_;  // scheduled, in order; a reader holds its own reference

  std::vector<std::jthread> readers_;
};

}  // namespace siem
