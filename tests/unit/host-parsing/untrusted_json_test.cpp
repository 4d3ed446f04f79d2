// parse_untrusted_json: the size, depth and UTF-8 checks that run before nlohmann builds a tree.
#include "protocol/untrusted_json.h"

#include <gtest/gtest.h>

#include <string>

namespace kvrun::protocol {
namespace {

using Kind = JsonError::Kind;

std::string nested(std::size_t depth, char open = '[', char close = ']') {
  return std::string(depth, open) + std::string(depth, close);
}

Kind kind_of(std::string_view text, const JsonLimits& limits = {}) {
  try {
    parse_untrusted_json(text, "test", limits);
  } catch (const JsonError& e) {
    return e.kind();
  }
  ADD_FAILURE() << "accepted: " << text.substr(0, 80);
  return Kind::kMalformed;
}

std::string message_of(std::string_view text, const JsonLimits& limits = {}) {
  try {
    parse_untrusted_json(text, "reply", limits);
  } catch (const JsonError& e) {
    return e.what();
  }
  return "";
}

TEST(UntrustedJson, AMillionLevelsAreOneError) {
  // 2 MB of brackets: recursion over such a tree needs far more than an 8 MiB stack.
  EXPECT_EQ(message_of(nested(1000000)), "reply: JSON nested deeper than 64 levels");
  EXPECT_EQ(kind_of(nested(1000000, '{', '}')), Kind::kTooDeep);
  EXPECT_EQ(kind_of("{\"a\":" + nested(100000) + "}"), Kind::kTooDeep);
}

TEST(UntrustedJson, DepthLimitIsExact) {
  EXPECT_NO_THROW(parse_untrusted_json(nested(kMaxJsonDepth), "test"));
  EXPECT_EQ(kind_of(nested(kMaxJsonDepth + 1)), Kind::kTooDeep);
  EXPECT_EQ(kind_of(nested(4), JsonLimits{.max_depth = 3}), Kind::kTooDeep);
  // Siblings do not add up: the depth is the deepest path.
  std::string wide = "[";
  for (int i = 0; i < 1000; ++i) wide += nested(kMaxJsonDepth - 1) + ",";
  wide += "0]";
  EXPECT_NO_THROW(parse_untrusted_json(wide, "test"));
}

TEST(UntrustedJson, BracketsInStringsDoNotCount) {
  std::string text = "{\"a\":\"" + nested(10000) + "\",\"b\":\"\\\"[[[\\\\\"}";
  nlohmann::json value = parse_untrusted_json(text, "test");
  EXPECT_EQ(value["a"].get<std::string>().size(), 20000u);
  EXPECT_EQ(value["b"], "\"[[[\\");
  // An escaped quote does not end the string: the brackets after it are still inside.
  EXPECT_NO_THROW(parse_untrusted_json("[\"\\\"" + nested(kMaxJsonDepth + 5) + "\"]", "test"));
  // ...but a string that really ended leaves the brackets after it counted.
  EXPECT_EQ(kind_of("[\"\\\\\"," + nested(kMaxJsonDepth + 5) + "]"), Kind::kTooDeep);
}

TEST(UntrustedJson, InvalidUtf8IsNamed) {
  EXPECT_EQ(message_of("{\"a\":\"\xff\"}"), "reply: invalid UTF-8 at byte 6");
  for (std::string bad : {
           "\"\x80\"",              // a lone continuation byte
           "\"\xc0\x80\"",          // overlong NUL
           "\"\xe0\x80\xaf\"",      // overlong '/'
           "\"\xed\xa0\x80\"",      // a UTF-16 surrogate
           "\"\xf4\x90\x80\x80\"",  // above U+10FFFF
           "\"\xf5\x80\x80\x80\"",  // no such lead byte
           "\"\xe2\x82\"",          // cut short
           "\"\xc3",                // cut short at the end of the text
           "[1,\xc3]",              // outside a string too
       }) {
    EXPECT_EQ(kind_of(bad), Kind::kInvalidUtf8) << bad;
  }
  // A backslash does not hide the byte after it.
  EXPECT_EQ(kind_of("\"\\\xff\""), Kind::kInvalidUtf8);
  nlohmann::json good = parse_untrusted_json("\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", "t");
  EXPECT_EQ(good, "h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST(UntrustedJson, ValuesAreCounted) {
  // n elements: the array, then one value after '[' and after each ','.
  auto zeros = [](std::size_t n) {
    std::string text = "[";
    for (std::size_t i = 1; i < n; ++i) text += "0,";
    return text + "0]";
  };
  EXPECT_EQ(parse_untrusted_json(zeros(kMaxJsonValues - 1), "test").size(), kMaxJsonValues - 1);
  EXPECT_EQ(kind_of(zeros(kMaxJsonValues)), Kind::kTooManyValues);
  // Commas in strings are no values.
  EXPECT_NO_THROW(parse_untrusted_json("\"" + std::string(1 << 20, ',') + "\"", "test"));
  // 4 MiB of empty objects: 1.4 million trees of their own, 107 MiB of heap if built.
  std::string objects = "[";
  while (objects.size() < (4u << 20) - 8) objects += "{},";
  objects += "{}]";
  EXPECT_EQ(message_of(objects), "reply: JSON of more than 262144 values");
}

TEST(UntrustedJson, SizeIsCheckedFirst) {
  EXPECT_EQ(message_of(std::string(101, ' '), JsonLimits{.max_bytes = 100}),
            "reply: JSON of 101 bytes exceeds the maximum of 100");
  EXPECT_EQ(kind_of(nested(1000), JsonLimits{.max_bytes = 100}), Kind::kTooLarge);
}

TEST(UntrustedJson, MalformedIsTypedWithItsPosition) {
  EXPECT_EQ(message_of("{\"a\":}"), "reply: malformed JSON at byte 5");
  EXPECT_EQ(kind_of(""), Kind::kMalformed);
  EXPECT_EQ(kind_of("]]]]"), Kind::kMalformed);
  EXPECT_EQ(kind_of("{\"a\":1} trailing"), Kind::kMalformed);
  EXPECT_EQ(kind_of("\"\\ud800\""), Kind::kMalformed);  // an escaped lone surrogate
  EXPECT_EQ(kind_of("1e999999"), Kind::kMalformed);     // nlohmann throws out_of_range for it
}

}  // namespace
}  // namespace kvrun::protocol
