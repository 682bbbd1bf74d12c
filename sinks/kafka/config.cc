#include "sinks/kafka/config.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>

#include "agent/config/reader.h"
#include "sinks/kafka/encoder.h"

namespace siem {
namespace {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

// Every property name librdkafka knows (global and topic level), for "did you mean" hints: the
// first column of the table rd_kafka_conf_properties_show() prints.
std::vector<std::string> knownProperties() {
  std::vector<std::string> names;
  char* text = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&text, &size);
  if (out == nullptr) return names;
  rd_kafka_conf_properties_show(out);
  std::fclose(out);
  std::unique_ptr<char, decltype(&std::free)> owned(text, &std::free);
  std::string_view all(text, size);
  while (!all.empty()) {
    const auto eol = all.find('\n');
    std::string_view line = all.substr(0, eol);
    all = eol == std::string_view::npos ? std::string_view() : all.substr(eol + 1);
    const auto bar = line.find(" |");
    if (bar == std::string_view::npos || line.empty() || line[0] == '-' || line[0] == '#') continue;
    std::string_view name = line.substr(0, bar);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (!name.empty() && name != "Property" && name.find(' ') == std::string_view::npos)
      names.emplace_back(name);
  }
  return names;
}

// Properties the sink cannot honour whatever their value.
bool isUnsupportedProperty(const std::string& name) { return name == "transactional.id"; }

// An event with every template field set, to check what a template can render.
bool rendersValidTopic(const FieldTemplate& topic) {
  SourceInfo source{"source", "source_type", "org", 0};
  Event e;
  e.id = "id";
  e.type = "family.verb";
  e.outcome = Outcome::kSuccess;
  e.actor_type = "actor";
  e.project_id = "project";
  e.source = &source;
  e.rendered[static_cast<std::size_t>(Encoding::kOcsf)] = R"({"class_uid":3002})";
  std::string out;
  topic.render(e, Encoding::kOcsf, out);
  return isValidTopicName(out);
}

// Reads the `librdkafka` map: secret-valued properties through ConfigMap::secret (so `<name>_file`
// works and the value is redacted from logs), everything else as a string.
std::vector<std::pair<std::string, std::string>> readPassthrough(ConfigMap& map) {
  std::vector<std::pair<std::string, std::string>> out;
  ConfigMap lib = map.map("librdkafka");
  std::set<std::string> seen;
  for (const MapEntry& entry : lib.entries()) {
    std::string name = entry.key;
    if (name.ends_with("_file") && isSecretKafkaProperty(name.substr(0, name.size() - 5)))
      name.resize(name.size() - 5);
    if (!seen.insert(name).second) continue;
    if (isSecretKafkaProperty(name)) {
      Secret s = lib.secret(name, false);
      if (!s.value.empty()) out.emplace_back(name, std::move(s.value));
    } else if (!lib.has(name)) {
      lib.error(name, "must have a value");
    } else {
      out.emplace_back(name, lib.string(name));
    }
  }
  return out;
}

// Applies every property to a scratch configuration, so unknown names and invalid values are
// reported at load time (and by `siem-agent validate`) with the property's name.
void checkProperties(ConfigMap& map, const KafkaSinkOptions& options) {
  ConfigMap lib = map.map("librdkafka");
  std::unique_ptr<rd_kafka_conf_t, ConfDeleter> conf(rd_kafka_conf_new());
  std::vector<std::string> known;
  char errstr[512];
  for (const auto& [name, value] : kafkaProperties(options, "siem-agent")) {
    const bool passthrough = std::any_of(options.librdkafka.begin(), options.librdkafka.end(),
                                         [&name](const auto& p) { return p.first == name; });
    errstr[0] = '\0';
    const rd_kafka_conf_res_t res =
        rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), errstr, sizeof(errstr));
    if (res == RD_KAFKA_CONF_OK) continue;
    if (!passthrough) {
      // A typed option librdkafka refused: the parser's ranges should make this impossible.
      map.error("librdkafka rejected " + name + ": " + errstr);
      continue;
    }
    const std::string key = lib.has(name) ? name : name + "_file";
    if (res == RD_KAFKA_CONF_UNKNOWN) {
      if (known.empty()) known = knownProperties();
      lib.error(key, "unknown librdkafka property " + quoted(name) + didYouMean(name, known));
    } else if (isSecretKafkaProperty(name)) {
      lib.error(key, "invalid value for librdkafka property " + quoted(name));
    } else {
      lib.error(key, std::string("invalid value: ") + errstr);
    }
  }
}

}  // namespace

const std::vector<ReservedProperty>& kafkaReservedProperties() {
  static const std::vector<ReservedProperty> reserved = {
      {"bootstrap.servers", "brokers"},
      {"metadata.broker.list", "brokers"},
      {"compression.codec", "compression"},
      {"compression.type", "compression"},
      {"acks", "acks"},
      {"request.required.acks", "acks"},
      {"enable.idempotence", "enable_idempotence"},
      {"linger.ms", "linger_ms"},
      {"queue.buffering.max.ms", "linger_ms"},
      {"batch.num.messages", "batch_num_messages"},
      {"message.timeout.ms", "message_timeout_ms"},
      {"delivery.timeout.ms", "message_timeout_ms"},
      {"statistics.interval.ms", "statistics_interval_ms"},
  };
  return reserved;
}

bool isSecretKafkaProperty(const std::string& name) {
  return name.find("password") != std::string::npos || name.find("secret") != std::string::npos ||
         name == "ssl.key.pem" || name == "sasl.oauthbearer.config";
}

std::vector<std::pair<std::string, std::string>> kafkaProperties(const KafkaSinkOptions& options,
                                                                 const std::string& client_id) {
  std::string servers;
  for (const auto& b : options.brokers) servers += (servers.empty() ? "" : ",") + b;
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", servers},
      {"client.id", client_id},
      {"compression.codec", options.compression},
      {"acks", options.acks},
      {"enable.idempotence", options.enable_idempotence ? "true" : "false"},
      {"linger.ms", std::to_string(options.linger_ms)},
      {"batch.num.messages", std::to_string(options.batch_num_messages)},
      {"message.timeout.ms", std::to_string(options.message_timeout_ms)},
      {"statistics.interval.ms", std::to_string(options.statistics_interval_ms)},
  };
  props.insert(props.end(), options.librdkafka.begin(), options.librdkafka.end());
  return props;
}

std::shared_ptr<const ComponentOptions> parseKafkaSinkOptions(ConfigMap& map) {
  auto options = std::make_shared<KafkaSinkOptions>();

  for (const ListItem& item : map.stringItems("brokers")) {
    if (item.value.find_first_of(", \t") != std::string::npos) {
      map.context().error(item.mark, item.path + ": one broker (host:port) per list item");
    }
    options->brokers.push_back(item.value);
  }
  if (options->brokers.empty()) map.error("brokers", "at least one broker (host:port) is required");

  // Read again only to know which rendered forms the templates may use; the loader has already
  // validated it.
  const std::string encoding = map.string("encoding", "ocsf");

  options->topic = map.requiredString("topic");
  if (!options->topic.empty()) {
    auto topic = FieldTemplate::parse(options->topic);
    if (!topic) {
      map.error("topic", topic.error().message);
    } else {
      if (!rendersValidTopic(*topic)) {
        map.error("topic",
                  "renders an invalid topic name: Kafka allows 1-249 characters of "
                  "[A-Za-z0-9._-]");
      }
      if (topic->usesField(TemplateField::kClassUid) && encoding != "ocsf")
        map.error("topic", "{class_uid} needs encoding: ocsf");
    }
  }
  options->key = map.string("key", options->key);
  if (!options->key.empty()) {
    auto key = FieldTemplate::parse(options->key);
    if (!key) {
      map.error("key", key.error().message);
    } else if (key->usesField(TemplateField::kClassUid) && encoding != "ocsf") {
      map.error("key", "{class_uid} needs encoding: ocsf");
    }
  }
  options->headers = map.boolean("headers", options->headers);
  options->compression =
      map.choice("compression", options->compression, {"none", "gzip", "snappy", "lz4", "zstd"});
  options->acks = map.choice("acks", options->acks, {"all", "1", "0"});
  options->enable_idempotence = map.boolean("enable_idempotence", options->enable_idempotence);
  if (options->enable_idempotence && options->acks != "all")
    map.error("acks", "must be all while enable_idempotence is true");
  options->linger_ms = map.unsignedInt<std::uint32_t>("linger_ms", options->linger_ms, 0, 900'000);
  options->batch_num_messages = map.unsignedInt<std::uint32_t>(
      "batch_num_messages", options->batch_num_messages, 1, 1'000'000);
  options->message_timeout_ms = map.unsignedInt<std::uint32_t>(
      "message_timeout_ms", options->message_timeout_ms, 0, 2'147'483'647);
  options->statistics_interval_ms = map.unsignedInt<std::uint32_t>(
      "statistics_interval_ms", options->statistics_interval_ms, 0, 86'400'000);

  options->librdkafka = readPassthrough(map);
  ConfigMap lib = map.map("librdkafka");
  auto keyOf = [&lib](const std::string& name) { return lib.has(name) ? name : name + "_file"; };
  for (auto it = options->librdkafka.begin(); it != options->librdkafka.end();) {
    const std::string& name = it->first;
    const auto reserved =
        std::find_if(kafkaReservedProperties().begin(), kafkaReservedProperties().end(),
                     [&name](const ReservedProperty& r) { return name == r.property; });
    if (reserved != kafkaReservedProperties().end()) {
      lib.error(keyOf(name), "set by the sink's own key " + quoted(reserved->key) +
                                 "; use that instead of the librdkafka property");
      it = options->librdkafka.erase(it);
    } else if (isUnsupportedProperty(name)) {
      lib.error(keyOf(name), "transactions are not supported by this sink");
      it = options->librdkafka.erase(it);
    } else {
      ++it;
    }
  }
  checkProperties(map, *options);
  return options;
}

}  // namespace siem
