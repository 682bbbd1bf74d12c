#include "sinks/stdout/sink.h"

#include "agent/core/console.h"
#include "sinks/stdout/encoder.h"

namespace siem {

SendOutcome StdoutSink::sendSync(const Batch& batch) {
  std::string out;
  out.reserve(batch.bytes + batch.size());
  for (const auto& e : batch.events) appendStdoutLine(out, *e, encoding_, format_);
  if (!writeStdout(out)) return SendOutcome::retry("io", "cannot write to standard output");
  return SendOutcome::delivered();
}

Result<std::unique_ptr<Sink>> createStdoutSink(const SinkConfig& config, SinkEnv&) {
  const auto* options = dynamic_cast<const StdoutSinkOptions*>(config.options.get());
  const StdoutFormat format = options ? options->format : StdoutFormat::kNdjson;
  return std::make_unique<StdoutSink>(config.encoding, format);
}

}  // namespace siem
