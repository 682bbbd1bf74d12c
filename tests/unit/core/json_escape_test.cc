#include "agent/core/json_escape.h"

#include <gtest/gtest.h>

#include <string>

namespace siem {
namespace {

TEST(JsonEscapeTest, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(jsonString(""), R"("")");
  EXPECT_EQ(jsonString("plain"), R"("plain")");
  EXPECT_EQ(jsonString("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(jsonString("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(jsonString(std::string("\x01\x1f\x7f", 3)), R"("\u0001\u001f\u007f")");
  EXPECT_EQ(jsonString(std::string("a\0b", 3)), R"("a\u0000b")");
}

TEST(JsonEscapeTest, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(jsonString("é ✓ 😀"), "\"é ✓ 😀\"");
  EXPECT_EQ(jsonString("\xC3"), "\"\xEF\xBF\xBD\"");                  // truncated sequence
  EXPECT_EQ(jsonString("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");  // overlong '/'
  EXPECT_EQ(jsonString("\xF4\x90\x80\x80x"),
            "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDx\"");  // above U+10FFFF
  EXPECT_EQ(jsonString("\xF4\x8F\xBF\xBF"), "\"\xF4\x8F\xBF\xBF\"");   // U+10FFFF itself
}

TEST(JsonEscapeTest, AppendsToExistingText) {
  std::string out = "{\"k\":";
  appendJsonString(out, "v\"");
  EXPECT_EQ(out, R"({"k":"v\"")");
}

}  // namespace
}  // namespace siem
