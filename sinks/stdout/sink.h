// `type: stdout`: writes each batch to standard output and flushes. Delivered means the bytes
// were handed to the pipe/terminal without error.
#pragma once

#include <memory>

#include "agent/api/result.h"
#include "agent/api/sink.h"
#include "agent/core/registry.h"
#include "sinks/stdout/config.h"

namespace siem {

class StdoutSink final : public SyncSink {
 public:
  StdoutSink(Encoding encoding, StdoutFormat format) : encoding_(encoding), format_(format) {}
  SendOutcome sendSync(const Batch& batch) override;

 private:
  Encoding encoding_;
  StdoutFormat format_;
};

Result<std::unique_ptr<Sink>> createStdoutSink(const SinkConfig& config, SinkEnv& env);

}  // namespace siem
