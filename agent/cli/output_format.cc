#include "agent/cli/output_format.h"

#include <algorithm>
#include <string>

#include "agent/core/time_spec.h"

namespace siem::cli {
namespace {

bool isBlank(char c) { return c == ' ' || c == '\t'; }

void appendIndent(std::string& out, std::size_t depth) {
  out.push_back('\n');
  out.append(depth * 2, ' ');
}

std::string cellText(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

}  // namespace

void appendCsvField(std::string& out, std::string_view field) {
  const bool quote = field.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!field.empty() && (isBlank(field.front()) || isBlank(field.back())));
  if (!quote) {
    out.append(field);
    return;
  }
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

std::string csvRecord(std::span<const std::string_view> fields) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out.push_back(',');
    appendCsvField(out, fields[i]);
  }
  out.append("\r\n");
  return out;
}

std::string csvHeader() { return csvRecord(kCsvColumns); }

std::string csvEventRecord(const Event& event) {
  const std::string effective_at = std::to_string(event.effective_at);
  const std::string time = formatRfc3339(event.effective_at);
  const std::string raw = singleLineJson(event.raw);
  const std::array<std::string_view, kCsvColumns.size()> fields = {event.id,
                                                                   effective_at,
                                                                   time,
                                                                   event.type,
                                                                   toString(event.outcome),
                                                                   event.actor_type,
                                                                   event.actor_id,
                                                                   event.actor_email,
                                                                   event.project_id,
                                                                   raw};
  return csvRecord(fields);
}

std::string singleLineJson(std::string_view json) {
  std::string out(json);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return out;
}

std::string ndjsonLine(const Event& event) {
  std::string line = singleLineJson(event.raw);
  line.push_back('\n');
  return line;
}

std::string prettyJson(std::string_view json) {
  std::string out;
  out.reserve(json.size() * 2);
  std::size_t depth = 0;
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    switch (c) {
      case ' ':
      case '\t':
      case '\r':
      case '\n':
        break;
      case '"': {
        std::size_t end = i + 1;
        while (end < json.size() && json[end] != '"') end += json[end] == '\\' ? 2 : 1;
        end = std::min(end, json.size() - 1);
        out.append(json.substr(i, end - i + 1));
        i = end;
        break;
      }
      case '{':
      case '[': {
        const char close = c == '{' ? '}' : ']';
        std::size_t next = i + 1;
        while (next < json.size() && (json[next] == ' ' || json[next] == '\t' ||
                                      json[next] == '\r' || json[next] == '\n')) {
          ++next;
        }
        out.push_back(c);
        if (next < json.size() && json[next] == close) {
          out.push_back(close);
          i = next;
        } else {
          ++depth;
          appendIndent(out, depth);
        }
        break;
      }
      case '}':
      case ']':
        if (depth > 0) --depth;
        appendIndent(out, depth);
        out.push_back(c);
        break;
      case ',':
        out.push_back(',');
        appendIndent(out, depth);
        break;
      case ':':
        out.append(": ");
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string JsonArrayWriter::element(const Event& event) {
  std::string out = any_ ? ",\n" : "[\n";
  any_ = true;
  out.append(singleLineJson(event.raw));
  return out;
}

std::string JsonArrayWriter::finish() const { return any_ ? "\n]\n" : "[]\n"; }

std::size_t displayWidth(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

TextTable::TextTable(const std::vector<std::string>& headers) {
  for (const auto& h : headers) headers_.push_back(cellText(h));
}

void TextTable::addRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  for (auto& cell : cells) cell = cellText(cell);
  rows_.push_back(std::move(cells));
}

std::string TextTable::render() const {
  std::vector<std::size_t> widths(headers_.size(), 0);
  auto measure = [&widths](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], displayWidth(row[i]));
    }
  };
  measure(headers_);
  for (const auto& row : rows_) measure(row);

  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line.append("  ");
      line.append(row[i]);
      if (i + 1 < row.size()) line.append(widths[i] - displayWidth(row[i]), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out.append(line);
    out.push_back('\n');
  };
  emit(headers_);
  for (const auto& row : rows_) emit(row);
  return out;
}

std::vector<std::string> eventTableHeaders() {
  return {"TIME", "TYPE", "ACTOR", "OUTCOME", "PROJECT", "ID"};
}

std::vector<std::string> eventTableCells(const Event& event) {
  std::string actor = !event.actor_email.empty() ? event.actor_email
                      : !event.actor_id.empty()  ? event.actor_id
                                                 : "-";
  return {formatRfc3339(event.effective_at),
          event.type,
          std::move(actor),
          std::string(toString(event.outcome)),
          event.project_id.empty() ? "-" : event.project_id,
          event.id};
}

}  // namespace siem::cli
