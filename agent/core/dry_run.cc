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

class NonCommittingSource final : public Source {
 public:
  explicit NonCommittingSource(std::unique_ptr<Source> inner) : inner_(std::move(inner)) {}
  void run(std::stop_token stop, EventEmitter& out) override { inner_->run(stop, out); }
  void acknowledged(std::uint64_t) override {}
  void commit() override {}
  std::string notReadyReason() const override { return inner_->notReadyReason(); }

 private:
  std::unique_ptr<Source> inner_;
};

}  // namespace

std::unique_ptr<Sink> makeDryRunSink(std::string sink_id, Encoding encoding) {
  return std::make_unique<DryRunSink>(std::move(sink_id), encoding);
}

std::unique_ptr<Source> makeNonCommittingSource(std::unique_ptr<Source> inner) {
  return std::make_unique<NonCommittingSource>(std::move(inner));
}

}  // namespace siem
