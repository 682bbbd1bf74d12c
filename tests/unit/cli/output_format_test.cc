#include "agent/cli/output_format.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace siem::cli {
namespace {

// A strict RFC 4180 reader (CRLF records), to check that what the writer produces parses back to
// the very same fields.
std::vector<std::vector<std::string>> parseCsv(std::string_view text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;
  bool field_started = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field.push_back(c);
      }
    } else if (c == '"' && !field_started) {
      quoted = true;
      field_started = true;
    } else if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
      field_started = false;
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      record.push_back(std::move(field));
      field.clear();
      field_started = false;
      records.push_back(std::move(record));
      record.clear();
      ++i;
    } else {
      EXPECT_NE(c, '"') << "bare quote inside an unquoted field at " << i;
      EXPECT_NE(c, '\n') << "bare LF outside quotes at " << i;
      field.push_back(c);
      field_started = true;
    }
  }
  EXPECT_FALSE(quoted) << "unterminated quoted field";
  EXPECT_TRUE(record.empty() && field.empty()) << "last record has no CRLF";
  return records;
}

std::string csvField(std::string_view value) {
  std::string out;
  appendCsvField(out, value);
  return out;
}

Event sampleEvent() {
  Event e;
  e.id = "audit_log-00ff";
  e.type = "login.failed";
  e.effective_at = 1793491200;  // 2026-11-01T00:00:00Z
  e.outcome = Outcome::kFailure;
  e.actor_type = "session";
  e.actor_id = "user-1";
  e.actor_email = "o'brien, \"pat\"@acme.example";
  e.project_id = "";
  e.raw =
      "{\n  \"id\": \"audit_log-00ff\",\n  \"type\": \"login.failed\",\n  \"login.failed\": "
      "{\"error_message\": \"bad, \\\"very\\\" bad\\nreally\"}\n}";
  return e;
}

TEST(CsvTest, PlainFieldsAreNotQuoted) {
  EXPECT_EQ(csvField("login.succeeded"), "login.succeeded");
  EXPECT_EQ(csvField(""), "");
  EXPECT_EQ(csvField("a b"), "a b");
}

TEST(CsvTest, QuotesFieldsWithCommasQuotesAndLineBreaks) {
  EXPECT_EQ(csvField("a,b"), "\"a,b\"");
  EXPECT_EQ(csvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csvField("\""), "\"\"\"\"");
  EXPECT_EQ(csvField("line1\nline2"), "\"line1\nline2\"");
  EXPECT_EQ(csvField("line1\r\nline2"), "\"line1\r\nline2\"");
  EXPECT_EQ(csvField(" padded"), "\" padded\"");
  EXPECT_EQ(csvField("padded\t"), "\"padded\t\"");
}

TEST(CsvTest, RecordsEndWithCrlfAndParseBackToTheSameFields) {
  const std::vector<std::string> fields = {"plain", "a,b", "q\"uote", "multi\nline", "", " x "};
  std::vector<std::string_view> views(fields.begin(), fields.end());
  const std::string record = csvRecord(views);
  ASSERT_GE(record.size(), 2u);
  EXPECT_EQ(record.substr(record.size() - 2), "\r\n");
  const auto parsed = parseCsv(record);
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0], fields);
}

TEST(CsvTest, HeaderListsTheDocumentedColumns) {
  const auto parsed = parseCsv(csvHeader());
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0],
            (std::vector<std::string>{"id", "effective_at", "time", "type", "outcome", "actor_type",
                                      "actor_id", "actor_email", "project_id", "raw"}));
}

TEST(CsvTest, EventRecordCarriesEveryColumnAndTheOriginalJsonOnOneLine) {
  const Event e = sampleEvent();
  const auto parsed = parseCsv(csvEventRecord(e));
  ASSERT_EQ(parsed.size(), 1u);
  const auto& r = parsed[0];
  ASSERT_EQ(r.size(), kCsvColumns.size());
  EXPECT_EQ(r[0], e.id);
  EXPECT_EQ(r[1], "1793491200");
  EXPECT_EQ(r[2], "2026-11-01T00:00:00Z");
  EXPECT_EQ(r[3], "login.failed");
  EXPECT_EQ(r[4], "failure");
  EXPECT_EQ(r[5], "session");
  EXPECT_EQ(r[6], "user-1");
  EXPECT_EQ(r[7], e.actor_email);
  EXPECT_EQ(r[8], "");
  EXPECT_EQ(r[9], singleLineJson(e.raw));
  EXPECT_EQ(r[9].find('\n'), std::string::npos);
}

TEST(NdjsonTest, OneLinePerEventWithEscapedNewlinesKept) {
  const Event e = sampleEvent();
  const std::string line = ndjsonLine(e);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  // The escaped newline inside the string value stays escaped.
  EXPECT_NE(line.find("bad\\nreally"), std::string::npos);
  // Only whitespace changed: removing all spaces gives the same text either way.
  auto squeeze = [](std::string s) {
    std::erase_if(s, [](char c) { return c == ' ' || c == '\n'; });
    return s;
  };
  EXPECT_EQ(squeeze(line), squeeze(e.raw));
}

TEST(JsonArrayTest, EmptyAndNonEmptyArrays) {
  JsonArrayWriter empty;
  EXPECT_EQ(empty.finish(), "[]\n");

  Event a;
  a.raw = R"({"id":"a"})";
  Event b;
  b.raw = "{\"id\":\n\"b\"}";
  JsonArrayWriter array;
  std::string out = array.element(a);
  out += array.element(b);
  out += array.finish();
  EXPECT_EQ(out, "[\n{\"id\":\"a\"},\n{\"id\": \"b\"}\n]\n");
}

TEST(PrettyJsonTest, IndentsAndKeepsValuesByteForByte) {
  EXPECT_EQ(prettyJson(R"({"a":[1,2.50,{}],"b":"x,y:{z}[","c":[],"d":{"e":null}})"),
            "{\n"
            "  \"a\": [\n"
            "    1,\n"
            "    2.50,\n"
            "    {}\n"
            "  ],\n"
            "  \"b\": \"x,y:{z}[\",\n"
            "  \"c\": [],\n"
            "  \"d\": {\n"
            "    \"e\": null\n"
            "  }\n"
            "}");
}

TEST(PrettyJsonTest, EscapedQuotesDoNotEndStrings) {
  EXPECT_EQ(prettyJson(R"({"k":"a\"b,c\\","n":1})"),
            "{\n  \"k\": \"a\\\"b,c\\\\\",\n  \"n\": 1\n}");
}

TEST(PrettyJsonTest, IgnoresExistingWhitespaceAndSurvivesGarbage) {
  EXPECT_EQ(prettyJson("{ \"a\" :\n [ ] }"), "{\n  \"a\": []\n}");
  EXPECT_NO_THROW(prettyJson("]]}}\"unterminated"));
}

TEST(TableTest, AlignsColumnsToTheWidestCell) {
  TextTable table({"TIME", "TYPE", "ID"});
  table.addRow({"2026-11-01T00:00:00Z", "login.succeeded", "audit_log-1"});
  table.addRow({"2026-11-01T00:00:01Z", "api_key.created", "audit_log-22"});
  table.addRow({"2026-11-01T00:00:02Z", "x", "audit_log-333"});
  EXPECT_EQ(table.render(),
            "TIME                  TYPE             ID\n"
            "2026-11-01T00:00:00Z  login.succeeded  audit_log-1\n"
            "2026-11-01T00:00:01Z  api_key.created  audit_log-22\n"
            "2026-11-01T00:00:02Z  x                audit_log-333\n");
}

TEST(TableTest, CountsCharactersNotBytesAndNeverBreaksLines) {
  TextTable table({"A", "B"});
  table.addRow({"é", "1"});  // 2 bytes, 1 column
  table.addRow({"abc", "2"});
  table.addRow({"x\ny", "3"});  // a newline must not start a new row
  table.addRow({"", ""});       // trailing spaces are trimmed
  table.addRow({"only one cell"});
  EXPECT_EQ(table.render(),
            "A              B\n"
            "é              1\n"
            "abc            2\n"
            "x?y            3\n"
            "\n"
            "only one cell\n");
  EXPECT_EQ(displayWidth("é€x"), 3u);
}

TEST(TableTest, EventCellsShowEmailElseIdElseDash) {
  Event e = sampleEvent();
  auto cells = eventTableCells(e);
  ASSERT_EQ(cells.size(), eventTableHeaders().size());
  EXPECT_EQ(cells[0], "2026-11-01T00:00:00Z");
  EXPECT_EQ(cells[1], "login.failed");
  EXPECT_EQ(cells[2], e.actor_email);
  EXPECT_EQ(cells[3], "failure");
  EXPECT_EQ(cells[4], "-");
  EXPECT_EQ(cells[5], "audit_log-00ff");
  e.actor_email.clear();
  EXPECT_EQ(eventTableCells(e)[2], "user-1");
  e.actor_id.clear();
  EXPECT_EQ(eventTableCells(e)[2], "-");
  e.project_id = "proj_1";
  EXPECT_EQ(eventTableCells(e)[4], "proj_1");
}

}  // namespace
}  // namespace siem::cli
