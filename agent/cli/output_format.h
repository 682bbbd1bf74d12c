// Pure renderers of audit events for the operator commands (`siem-agent logs ...`): CSV, NDJSON,
// a JSON array, an aligned text table and an indenting JSON printer. No I/O.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/api/event.h"

namespace siem::cli {

// The CSV columns of `logs list --format csv` and `logs export --format csv`, in order
// (README.md, "Operator commands", documents them):
//   id, effective_at (unix seconds), time (RFC 3339 UTC), type, outcome (success|failure|unknown),
//   actor_type, actor_id, actor_email, project_id, raw (the original JSON object on one line).
inline constexpr std::array<std::string_view, 10> kCsvColumns = {
    "id",         "effective_at", "time",        "type",       "outcome",
    "actor_type", "actor_id",     "actor_email", "project_id", "raw"};

// Appends `field` to `out` as one RFC 4180 field: quoted (with inner quotes doubled) when it holds
// a comma, a double quote, CR or LF, or starts or ends with a space or tab; verbatim otherwise.
// The bytes themselves are never altered, so a parser gets back exactly `field`.
void appendCsvField(std::string& out, std::string_view field);

// One CSV record: the fields separated by commas, terminated by CRLF (RFC 4180).
std::string csvRecord(std::span<const std::string_view> fields);

// The header record (kCsvColumns).
std::string csvHeader();

// The record of `event` (kCsvColumns).
std::string csvEventRecord(const Event& event);

// A JSON text on one line: CR and LF become spaces. In valid JSON they can only be insignificant
// whitespace (inside strings they must be escaped), so the value is unchanged.
std::string singleLineJson(std::string_view json);

// `event.raw` as one NDJSON line (singleLineJson + "\n").
std::string ndjsonLine(const Event& event);

// Re-indents a JSON text (two spaces per level, "key": value, empty containers as {} and []),
// copying every string, number and literal byte for byte. Input that is not valid JSON is
// re-indented on a best-effort basis and never rejected. Ends without a newline.
std::string prettyJson(std::string_view json);

// Streams events as one JSON array: "[\n" + objects separated by ",\n" + "\n]\n" ("[]\n" when
// there are none). Each object is the original audit log on one line.
class JsonArrayWriter {
 public:
  // The text to write before `event`.
  std::string element(const Event& event);
  // The text that closes the array.
  std::string finish() const;

 private:
  bool any_ = false;
};

// Number of terminal columns `text` takes: its UTF-8 code points (every character is assumed to be
// one column wide).
std::size_t displayWidth(std::string_view text);

// A text table: every column padded to its widest cell, columns separated by two spaces, no
// trailing spaces. Control characters in cells are shown as '?' so a value can never break a line
// or the alignment.
class TextTable {
 public:
  explicit TextTable(const std::vector<std::string>& headers);
  void addRow(std::vector<std::string> cells);  // missing cells are empty, extra ones dropped
  std::size_t rows() const { return rows_.size(); }
  std::string render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// The table of `logs list`: TIME (RFC 3339), TYPE, ACTOR (email, else id, else "-"), OUTCOME,
// PROJECT ("-" when none), ID.
std::vector<std::string> eventTableHeaders();
std::vector<std::string> eventTableCells(const Event& event);

}  // namespace siem::cli
