// The explicit list of every source and sink type this build knows. Adding a type means adding
// one entry here: its name, the encodings it can take, its option parser and its factory.
#include "agent/core/registry.h"
#include "agent/sources/openai/config.h"
#include "agent/sources/openai/org_logs_source.h"
#include "agent/sources/openai/source.h"
#include "sinks/file/config.h"
#include "sinks/file/sink.h"
#include "sinks/kafka/config.h"
#include "sinks/kafka/sink.h"
#include "sinks/splunk_hec/config.h"
#include "sinks/splunk_hec/sink.h"
#include "sinks/stdout/config.h"
#include "sinks/stdout/sink.h"

namespace siem {
namespace {

const std::vector<Encoding> kAllEncodings = {Encoding::kOcsf, Encoding::kEcs, Encoding::kRaw};

Result<std::unique_ptr<Source>> createOpenAiSource(const SourceConfig& config, SourceEnv& env) {
  const auto* options = dynamic_cast<const OpenAiSourceOptions*>(config.options.get());
  if (options == nullptr) return fail("missing options");
  // `api` picks the implementation: the real API's time-window cursor, or the seed variant's id
  // cursor.
  if (options->api == OpenAiApiVariant::kOrganizationLogs) {
    OrganizationLogsSourceDeps deps;
    deps.read_only = env.dry_run;
    return std::unique_ptr<Source>(std::make_unique<OrganizationLogsSource>(
        config, *options, env.config.data_dir, env.info, &env.metrics, std::move(deps)));
  }
  OpenAiSourceDeps deps;
  deps.read_only = env.dry_run;
  return std::unique_ptr<Source>(std::make_unique<OpenAiAuditLogSource>(
      config, *options, env.config.data_dir, env.info, &env.metrics, std::move(deps)));
}

}  // namespace

ComponentRegistry builtinComponents() {
  ComponentRegistry r;
  r.sources.push_back({"openai_audit_logs", parseOpenAiSourceOptions, createOpenAiSource});
  r.sinks.push_back({"file", kAllEncodings, parseFileSinkOptions, createFileSink});
  r.sinks.push_back({"stdout", kAllEncodings, parseStdoutSinkOptions, createStdoutSink});
  r.sinks.push_back({"splunk_hec", kAllEncodings, parseSplunkHecSinkOptions, createSplunkHecSink});
  r.sinks.push_back({"kafka", kAllEncodings, parseKafkaSinkOptions, createKafkaSink});
  return r;
}

}  // namespace siem
