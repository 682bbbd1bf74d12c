#include "agent/cli/logs_command.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "agent/cli/log_reader.h"
#include "agent/cli/output_format.h"
#include "agent/core/clock.h"
#include "agent/core/http_client.h"
#include "agent/core/time_spec.h"
#include "agent/schema/render.h"

namespace siem::cli {
namespace {

constexpr std::uint32_t kDefaultListLimit = 20;
constexpr auto kProgressInterval = std::chrono::seconds(5);

// What every logs subcommand works with once the configuration is loaded.
struct Context {
  Config config;
  ChosenSource source;
  std::int64_t now = 0;
};

std::string describeRange(const TimeRange& range) {
  return fmt::format("{} .. {}", formatRfc3339(range.since), formatRfc3339(range.until));
}

// Parses a --since/--until value; prints a usage error naming `flag` on failure.
tl::expected<std::int64_t, int> parseTimeFlag(std::string_view flag, const std::string& text,
                                              std::int64_t now) {
  auto t = parseTimeSpec(text, now);
  if (!t) {
    note(fmt::format("{}: {}", flag, t.error().message));
    return tl::unexpected(kExitUsage);
  }
  return *t;
}

// [since, until) from optional flags; `default_since` when --since is empty. Usage errors exit 2.
tl::expected<TimeRange, int> parseRange(const std::string& since, const std::string& until,
                                        std::int64_t default_since, std::int64_t now) {
  TimeRange range{default_since, now + 1};  // until now, this second included
  if (!since.empty()) {
    auto t = parseTimeFlag("--since", since, now);
    if (!t) return tl::unexpected(t.error());
    range.since = *t;
  }
  if (!until.empty()) {
    auto t = parseTimeFlag("--until", until, now);
    if (!t) return tl::unexpected(t.error());
    range.until = *t;
  }
  if (range.since >= range.until) {
    note(
        fmt::format("the range {} is empty: --since must be before --until", describeRange(range)));
    return tl::unexpected(kExitUsage);
  }
  return range;
}

int reportFailure(std::string_view what, const Error& error) {
  note(fmt::format("{}: {}", what, error.message));
  return kExitFailure;
}

class LogsCommand final : public CliCommand {
 public:
  explicit LogsCommand(CLI::App& app) {
    logs_ = app.add_subcommand("logs", "Read a source's audit logs from the API");
    logs_->require_subcommand(1);

    list_ = logs_->add_subcommand("list", "List audit logs, newest first");
    addCommon(list_);
    list_->add_option("--limit", limit_, "How many logs (default 20 without --since)")
        ->check(CLI::Range(1u, std::numeric_limits<std::uint32_t>::max()));
    list_->add_option("--since", list_since_, "Oldest time: RFC 3339, 90m / 24h / 30d, or unix s");
    list_->add_option("--until", list_until_, "End of the range (exclusive); default now");
    list_
        ->add_option("--type", types_,
                     "Only this event type (repeatable or comma-separated; server-side filter)")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->delimiter(',');
    list_->add_option("--format", list_format_, "table | json | ndjson | csv")
        ->check(CLI::IsMember({"table", "json", "ndjson", "csv"}));

    get_ = logs_->add_subcommand("get", "Print one audit log in full");
    get_->add_option("id", id_, "The audit-log id")->required();
    addCommon(get_);
    get_->add_option("--since", get_since_,
                     "How far back to scan (default 7d; organization_logs gets by id instead)");
    get_->add_option("--format", get_format_, "pretty | raw (as received)")
        ->check(CLI::IsMember({"pretty", "raw"}));

    export_ =
        logs_->add_subcommand("export", "Export every audit log of a time range, oldest first");
    addCommon(export_);
    export_->add_option("--since", export_since_, "Start of the range (inclusive)")->required();
    export_->add_option("--until", export_until_, "End of the range (exclusive); default now");
    export_->add_option("--format", export_format_, "ndjson | csv | ocsf")
        ->required()
        ->check(CLI::IsMember({"ndjson", "csv", "ocsf"}));
    export_->add_option("-o,--output", output_,
                        "Write to FILE (via FILE.partial, renamed when complete); default stdout");
  }

  bool chosen() const override { return logs_->parsed(); }

  int run() override {
    auto config = loadConfigOrReport(config_path_);
    if (!config) return config.error();
    Context context{std::move(*config), {}, 0};
    auto source = chooseOpenAiSource(context.config, source_id_);
    if (!source) return source.error();
    context.source = *source;
    setupCommandLogging(context.config);
    context.now = unixSeconds(std::chrono::system_clock::now());
    if (list_->parsed()) return runList(context);
    if (get_->parsed()) return runGet(context);
    if (export_->parsed()) return runExport(context);
    return kExitUsage;
  }

 private:
  void addCommon(CLI::App* sub) {
    sub->add_option("-c,--config", config_path_, "Configuration file (YAML)")->required();
    sub->add_option("--source", source_id_,
                    "Source id (default: the only openai_audit_logs source)");
  }

  int runList(const Context& context) {
    auto range = parseRange(list_since_, list_until_, 0, context.now);
    if (!range) return range.error();
    const bool limited = list_->count("--limit") > 0 || list_since_.empty();
    const std::uint64_t limit = list_->count("--limit") > 0 ? limit_
                                : limited                   ? kDefaultListLimit
                                          : std::numeric_limits<std::uint64_t>::max();

    OpenAiSourceOptions options = *context.source.options;
    const bool ingestion_order = options.api == OpenAiApiVariant::kOrganizationLogs;
    if (!types_.empty()) options.event_types = types_;
    // Smaller pages only where the server filters: organization_logs filters here, so a small
    // page could hold none of the logs wanted.
    if (limited && limit < options.page_size && !ingestion_order) {
      options.page_size = static_cast<std::uint32_t>(limit);
    }

    CurlGlobal curl;
    InterruptWatcher interrupt;
    SystemClock clock;
    auto reader = makeLogReader(options, context.source.config->id,
                                context.source.config->organization_id, clock, interrupt.token());
    if (!reader) return reportFailure("logs list", reader.error());
    auto out = Output::open("");
    if (!out) return reportFailure("logs list", out.error());

    TextTable table(eventTableHeaders());
    JsonArrayWriter array;
    std::unordered_set<std::string> ids;
    std::uint64_t shown = 0;
    bool more = false;
    Result<void> written;
    if (list_format_ == "csv") written = out->write(csvHeader());
    auto read = (*reader)->newestFirst(*range, [&](std::vector<Event>& page) {
      for (Event& event : page) {
        if (shown == limit) {
          more = true;
          return false;
        }
        if (!ids.insert(event.id).second) continue;
        ++shown;
        if (list_format_ == "table") {
          table.addRow(eventTableCells(event));
        } else if (list_format_ == "json") {
          written = out->write(array.element(event));
        } else if (list_format_ == "ndjson") {
          written = out->write(ndjsonLine(event));
        } else {
          written = out->write(csvEventRecord(event));
        }
        if (!written) return false;
      }
      return shown < limit;
    });
    if (!read) return reportFailure("logs list", read.error());
    if (written && list_format_ == "json") written = out->write(array.finish());
    if (written && list_format_ == "table" && table.rows() > 0)
      written = out->write(table.render());
    if (written) written = out->commit();
    if (!written) return reportFailure("logs list", written.error());

    const ReaderStats stats = (*reader)->stats();
    if (ingestion_order && stats.not_matching > 0) {
      note(fmt::format(
          "organization_logs cannot filter by time or type: {} log(s) read were left out here",
          stats.not_matching));
    }
    if (shown == 0) {
      note(fmt::format("no audit logs in {} for source {}", describeRange(*range),
                       context.source.config->id));
    } else {
      note(fmt::format(
          "{} audit log(s) from source {}, {} ({} page(s)){}", shown, context.source.config->id,
          ingestion_order ? "most recently ingested first" : "newest first", stats.pages,
          more             ? fmt::format("; --limit {} reached, {} exist", limit,
                             ingestion_order ? "earlier ingested logs" : "older logs")
          : shown == limit ? fmt::format("; --limit {} reached", limit)
                           : ""));
    }
    return kExitOk;
  }

  int runGet(const Context& context) {
    auto range = parseRange(get_since_, "", 0, context.now);
    if (!range) return range.error();

    CurlGlobal curl;
    InterruptWatcher interrupt;
    SystemClock clock;
    auto reader = makeLogReader(*context.source.options, context.source.config->id,
                                context.source.config->organization_id, clock, interrupt.token());
    if (!reader) return reportFailure("logs get", reader.error());

    std::optional<Event> found;
    std::uint64_t scanned = 0;
    if ((*reader)->hasLookup()) {
      auto looked_up = (*reader)->lookup(id_);
      if (!looked_up) return reportFailure("logs get", looked_up.error());
      found = std::move(*looked_up);
      if (!found) {
        note(fmt::format("audit log {} not found", id_));
        return kExitFailure;
      }
    } else {
      note(
          fmt::format("the audit-log API has no get-by-id: scanning {} newest first for {} (widen "
                      "with --since)",
                      describeRange(*range), id_));
      auto read = (*reader)->newestFirst(*range, [&](std::vector<Event>& page) {
        for (Event& event : page) {
          ++scanned;
          if (event.id == id_) {
            found = std::move(event);
            return false;
          }
        }
        return true;
      });
      if (!read) return reportFailure("logs get", read.error());
      if (!found) {
        note(fmt::format("audit log {} not found in {} ({} logs scanned in {} page(s))", id_,
                         describeRange(*range), scanned, (*reader)->stats().pages));
        return kExitFailure;
      }
    }

    auto out = Output::open("");
    if (!out) return reportFailure("logs get", out.error());
    std::string text = get_format_ == "raw" ? found->raw : prettyJson(found->raw);
    text.push_back('\n');
    Result<void> written = out->write(text);
    if (written) written = out->commit();
    if (!written) return reportFailure("logs get", written.error());
    return kExitOk;
  }

  int runExport(const Context& context) {
    auto range = parseRange(export_since_, export_until_, 0, context.now);
    if (!range) return range.error();

    // Progress on stderr every kProgressInterval, from whichever comes first: a page read (a
    // window is read whole before any of it is written) or a log written.
    const auto started = std::chrono::steady_clock::now();
    auto next_progress = started + kProgressInterval;
    std::uint64_t exported = 0;
    std::optional<std::int64_t> reached;
    auto per_sec = [&started](std::uint64_t count) {
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      return secs > 0 ? static_cast<double>(count) / secs : 0.0;
    };
    auto progress = [&](const ReaderStats& stats) {
      if (std::chrono::steady_clock::now() < next_progress) return;
      next_progress = std::chrono::steady_clock::now() + kProgressInterval;
      note(fmt::format("export: {} logs written, {} pages read ({:.0f} logs/s read){}", exported,
                       stats.pages, per_sec(stats.events_read),
                       reached ? ", written up to " + formatRfc3339(*reached) : ""));
    };

    CurlGlobal curl;
    InterruptWatcher interrupt;
    SystemClock clock;
    const bool to_file = !output_.empty() && output_ != "-";
    ReaderLimits limits;
    // An export that is sorted on disk (organization_logs) sorts beside its output, on a file
    // system that must hold the export anyway, rather than in a possibly memory-backed /tmp.
    if (to_file) limits.spill_dir = std::filesystem::absolute(output_).parent_path();
    auto reader = makeLogReader(*context.source.options, context.source.config->id,
                                context.source.config->organization_id, clock, interrupt.token(),
                                limits, progress);
    if (!reader) return reportFailure("logs export", reader.error());
    auto out = Output::open(output_);
    if (!out) return reportFailure("logs export", out.error());

    const SourceInfo info{context.source.config->id, context.source.config->type,
                          context.source.config->organization_id, 0};
    note(fmt::format("exporting {} from source {} as {} to {}", describeRange(*range), info.id,
                     export_format_, out->name()));

    Result<void> written;
    if (export_format_ == "csv") written = out->write(csvHeader());
    Result<void> read;
    if (written) {
      read = (*reader)->ascending(*range, [&](Event& event) {
        if (export_format_ == "ndjson") {
          written = out->write(ndjsonLine(event));
        } else if (export_format_ == "csv") {
          written = out->write(csvEventRecord(event));
        } else {
          event.source = &info;
          std::string line = renderEvent(event, Encoding::kOcsf);
          line.push_back('\n');
          written = out->write(line);
        }
        if (!written) return false;
        ++exported;
        reached = event.effective_at;
        progress((*reader)->stats());
        return true;
      });
    }
    if (written && read) written = out->commit();
    if (!read || !written) {
      note(fmt::format("export failed after {} logs: {}{}", exported,
                       !read ? read.error().message : written.error().message,
                       to_file ? fmt::format("; {} was not written", output_) : ""));
      return kExitFailure;
    }
    const ReaderStats stats = (*reader)->stats();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    note(fmt::format(
        "exported {} audit logs from {} to {} in {:.1f} s ({} pages, {} requests, {} retries, "
        "{} duplicates dropped, {:.0f} logs/s)",
        exported, describeRange(*range), out->name(), secs, stats.pages, stats.requests,
        stats.retries, stats.duplicates, per_sec(exported)));
    if (context.source.options->api == OpenAiApiVariant::kOrganizationLogs) {
      note(fmt::format(
          "organization_logs has no time filter: the whole log was read ({} logs outside the "
          "range left out) and the range sorted by (effective_at, id){}",
          stats.not_matching,
          stats.sorted_runs > 0 ? fmt::format(" on disk in {} run(s)", stats.sorted_runs) : ""));
    }
    if (stats.out_of_range > 0) {
      note(
          fmt::format("the API returned {} logs outside the time windows asked for; they were "
                      "ignored there",
                      stats.out_of_range));
    }
    return kExitOk;
  }

  CLI::App* logs_ = nullptr;
  CLI::App* list_ = nullptr;
  CLI::App* get_ = nullptr;
  CLI::App* export_ = nullptr;

  // Shared by the subcommands (only one of them is parsed).
  std::string config_path_;
  std::string source_id_;

  std::uint32_t limit_ = kDefaultListLimit;
  std::string list_since_;
  std::string list_until_;
  std::vector<std::string> types_;
  std::string list_format_ = "table";

  std::string id_;
  std::string get_since_ = "7d";
  std::string get_format_ = "pretty";

  std::string export_since_;
  std::string export_until_;
  std::string export_format_;
  std::string output_;
};

}  // namespace

std::unique_ptr<CliCommand> addLogsCommand(CLI::App& app) {
  return std::make_unique<LogsCommand>(app);
}

}  // namespace siem::cli
