#include "sinks/kafka/stats.h"

#include <simdjson.h>

namespace siem {
namespace {

std::int64_t intOr0(simdjson::ondemand::value value) {
  std::int64_t n = 0;
  if (value.get_int64().get(n) != simdjson::SUCCESS) return 0;
  return n;
}

}  // namespace

std::vector<const KafkaBrokerStats*> KafkaStats::knownBrokers() const {
  std::vector<const KafkaBrokerStats*> out;
  for (const auto& b : brokers)
    if (b.node_id >= 0) out.push_back(&b);
  if (out.empty())
    for (const auto& b : brokers) out.push_back(&b);
  return out;
}

std::size_t KafkaStats::brokersUp() const {
  std::size_t up = 0;
  for (const auto* b : knownBrokers())
    if (b->state == "UP") ++up;
  return up;
}

Result<KafkaStats> parseKafkaStats(std::string_view json) {
  // The statistics arrive every statistics.interval.ms; copying them into a padded buffer is
  // negligible next to their production.
  simdjson::padded_string padded(json);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) return fail("not JSON");
  simdjson::ondemand::object root;
  if (doc.get_object().get(root) != simdjson::SUCCESS) return fail("not a JSON object");

  KafkaStats stats;
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return fail("malformed key");
    simdjson::ondemand::value value = field.value();
    if (key == "msg_cnt") {
      stats.queue_messages = intOr0(value);
    } else if (key == "msg_size") {
      stats.queue_bytes = intOr0(value);
    } else if (key == "brokers") {
      simdjson::ondemand::object brokers;
      if (value.get_object().get(brokers) != simdjson::SUCCESS)
        return fail("brokers: not an object");
      for (auto broker_field : brokers) {
        KafkaBrokerStats broker;
        std::string_view name;
        if (broker_field.unescaped_key().get(name) != simdjson::SUCCESS)
          return fail("brokers: malformed key");
        broker.name = std::string(name);
        simdjson::ondemand::object b;
        if (broker_field.value().get_object().get(b) != simdjson::SUCCESS)
          return fail("brokers." + broker.name + ": not an object");
        for (auto member : b) {
          std::string_view k;
          if (member.unescaped_key().get(k) != simdjson::SUCCESS)
            return fail("brokers: malformed key");
          simdjson::ondemand::value v = member.value();
          if (k == "nodeid") {
            broker.node_id = static_cast<std::int32_t>(intOr0(v));
          } else if (k == "state") {
            std::string_view state;
            if (v.get_string().get(state) == simdjson::SUCCESS) broker.state = std::string(state);
          } else if (k == "outbuf_msg_cnt" || k == "waitresp_msg_cnt") {
            broker.in_flight_messages += intOr0(v);
          } else if (k == "txretries") {
            stats.tx_retries += intOr0(v);
          } else if (k == "txerrs") {
            stats.tx_errors += intOr0(v);
          }
        }
        stats.brokers.push_back(std::move(broker));
      }
    }
  }
  return stats;
}

}  // namespace siem
