#include "agent/core/dry_run.h"

#include "agent/core/console.h"

namespace siem {
namespace {

class DryRunSink final : public SyncSink {
 public:
  DryRunSink(std::string id, Encoding encoding) : id_(std::move(id)), encoding_(encoding) {}

  SendOutcome sendSync(const Batch& batch) override {
    std::string out;
    for (const auto& e : batch.events) {
      out += id_;
      out += '\t';
      out += e->encoded(encoding_);
      out += '\n';
    }
    if (!writeStdout(out)) return SendOutcome::retry("io", "cannot write to standard output");
    return SendOutcome::delivered();
  }

 private:
  std::string id_;
  Encoding encoding_;
};

}  // namespace

std::unique_ptr<Sink> makeDryRunSink(std::string sink_id, Encoding encoding) {
  return std::make_unique<DryRunSink>(std::move(sink_id), encoding);
}

}  // namespace siem
