#include "agent/sources/openai/read_ahead.h"

#include <algorithm>
#include <string>
#include <unordered_set>
#include <utility>

#include "agent/sources/openai/id_set.h"

namespace siem {
namespace {

// A page that adds nothing to its window this many times in a row means the server is not
// making progress (it keeps answering with ids it already gave): the source takes over.
constexpr int kMaxBarrenPages = 3;

// Events prepared per call: small enough that an abandoned window stops being prepared soon.
constexpr std::size_t kPrepareSlice = 256;

}  // namespace

WindowReadAhead::WindowReadAhead(std::size_t readers, std::size_t max_events,
                                 ClientFactory make_client, PageFn on_page, PrepareFn prepare)
    : max_events_(std::max<std::size_t>(max_events, 1)),
      make_client_(std::move(make_client)),
      on_page_(std::move(on_page)),
      prepare_(std::move(prepare)) {
  readers_.reserve(readers);
  for (std::size_t i = 0; i < readers; ++i) {
    readers_.emplace_back([this](const std::stop_token& stop) {
      std::unique_ptr<OpenAiClient> client = make_client_();
      readerLoop(stop, *client);
    });
  }
}

WindowReadAhead::~WindowReadAhead() {
  cancel();
  for (auto& reader : readers_) reader.request_stop();
  work_cv_.notify_all();
  readers_.clear();  // joins
}

std::size_t WindowReadAhead::scheduled() const {
  std::lock_guard lock(mutex_);
  return jobs_.size();
}

std::optional<TimeWindow> WindowReadAhead::front() const {
  std::lock_guard lock(mutex_);
  if (jobs_.empty()) return std::nullopt;
  return jobs_.front()->window;
}

std::optional<TimeWindow> WindowReadAhead::back() const {
  std::lock_guard lock(mutex_);
  if (jobs_.empty()) return std::nullopt;
  return jobs_.back()->window;
}

void WindowReadAhead::schedule(const TimeWindow& window) {
  auto job = std::make_shared<Job>();
  job->window = window;
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  work_cv_.notify_one();
}

std::optional<WindowReadAhead::Read> WindowReadAhead::take(const std::stop_token& stop) {
  std::unique_lock lock(mutex_);
  if (jobs_.empty()) return std::nullopt;
  const std::shared_ptr<Job> job = jobs_.front();
  if (!done_cv_.wait(lock, stop, [&] { return job->done; })) return std::nullopt;
  jobs_.pop_front();
  return std::move(job->result);
}

void WindowReadAhead::cancel() {
  std::deque<std::shared_ptr<Job>> abandoned;
  {
    std::lock_guard lock(mutex_);
    abandoned.swap(jobs_);
  }
  for (const auto& job : abandoned) job->abandon.request_stop();
}

void WindowReadAhead::readerLoop(const std::stop_token& stop, OpenAiClient& client) {
  while (!stop.stop_requested()) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock lock(mutex_);
      const auto next = [&] {
        return std::find_if(jobs_.begin(), jobs_.end(),
                            [](const std::shared_ptr<Job>& j) { return !j->started; });
      };
      if (!work_cv_.wait(lock, stop, [&] { return next() != jobs_.end(); })) return;
      job = *next();
      job->started = true;
    }
    Read result = read(client, job->window, job->abandon.get_token());
    {
      std::lock_guard lock(mutex_);
      job->result = std::move(result);
      job->done = true;
    }
    done_cv_.notify_all();
  }
}

WindowReadAhead::Read WindowReadAhead::read(OpenAiClient& client, const TimeWindow& window,
                                            const std::stop_token& abandon) {
  Read r;
  r.window = window;
  const std::size_t hint = last_count_.load(std::memory_order_relaxed);
  r.events.reserve(std::min(max_events_ + 128, std::max<std::size_t>(256, hint + hint / 4)));
  // Ids kept so far, as views of r.events[i].id; rebuilt when r.events moves its elements.
  IdViewSet kept;
  const Event* storage = nullptr;
  std::unordered_set<std::string> cursors;  // `after` values used: a repeat is a loop
  std::optional<std::string> after;
  int barren = 0;
  for (;;) {
    FetchResult fetched = client.fetchPage(AuditLogQuery{window.start, window.end, after}, abandon);
    if (fetched.status != FetchStatus::kPage) {
      // Refused (the source reads the window itself and reports it) or abandoned. A refused key
      // may have been rotated: the next window goes out with the api_key_file as it is now.
      if (fetched.status == FetchStatus::kUnauthorized) (void)client.reloadApiKey();
      r.status = Status::kGaveUp;
      return r;
    }
    AuditLogPage& page = fetched.page;
    std::uint64_t outside = 0;
    std::uint64_t repeated = 0;
    const std::size_t before = r.events.size();
    for (Event& event : page.events) {
      if (event.effective_at < window.start || event.effective_at >= window.end) {
        ++outside;  // read again by the window that covers it
        continue;
      }
      r.events.push_back(std::move(event));
      if (r.events.data() != storage) {
        storage = r.events.data();
        kept.clear();
        for (std::size_t i = 0; i + 1 < r.events.size(); ++i) kept.insert(r.events[i].id);
      }
      if (!kept.insert(r.events.back().id)) {
        r.events.pop_back();
        ++repeated;
      }
    }
    if (on_page_) on_page_(outside, repeated);
    if (r.events.size() > max_events_) {
      // A one-second window cannot be split; the source reads it whole.
      r.status = window.span() > 1 ? Status::kOverflow : Status::kGaveUp;
      return r;
    }
    if (!page.has_more) {
      last_count_.store(r.events.size(), std::memory_order_relaxed);
      prepare(r.events, abandon);
      r.status = Status::kDone;
      return r;
    }
    barren = r.events.size() == before ? barren + 1 : 0;
    if (barren >= kMaxBarrenPages || !cursors.insert(*page.last_id).second) {
      r.status = Status::kGaveUp;
      return r;
    }
    after = std::move(page.last_id);
  }
}

void WindowReadAhead::prepare(std::vector<Event>& events, const std::stop_token& abandon) const {
  if (!prepare_) return;
  const std::span<Event> all(events);
  for (std::size_t i = 0; i < all.size() && !abandon.stop_requested(); i += kPrepareSlice) {
    prepare_(all.subspan(i, std::min(kPrepareSlice, all.size() - i)));
  }
}

}  // namespace siem
