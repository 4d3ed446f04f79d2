#include "protocol/untrusted_json.h"

#include <cstdint>

namespace kvrun::protocol {
namespace {

using Kind = JsonError::Kind;

[[noreturn]] void fail(Kind kind, std::string_view what, const std::string& reason) {
  throw JsonError(kind, std::string(what) + ": " + reason);
}

bool continuation(unsigned char c) { return (c & 0xc0) == 0x80; }

// The length of the well-formed UTF-8 sequence starting at text[i] (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF), or 0.
std::size_t utf8_sequence(std::string_view text, std::size_t i) {
  auto at = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  unsigned char lead = at(0);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xbf;  // the range of the second byte
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;   // overlong
    if (lead == 0xed) high = 0x9f;  // UTF-16 surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;   // overlong
    if (lead == 0xf4) high = 0x8f;  // above U+10FFFF
  } else {
    return 0;
  }
  if (text.size() - i < length) return 0;
  if (at(1) < low || at(1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if (!continuation(at(k))) return 0;
  }
  return length;
}

}  // namespace

void check_untrusted_json(std::string_view text, std::string_view what, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    fail(Kind::kTooLarge, what,
         "JSON of " + std::to_string(text.size()) + " bytes exceeds the maximum of " +
             std::to_string(limits.max_bytes));
  }
  std::size_t depth = 0;
  // Every value but the outermost follows a '[', '{' or ',' outside strings: an upper bound.
  std::size_t values = 1;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      std::size_t length = utf8_sequence(text, i);
      if (length == 0) fail(Kind::kInvalidUtf8, what, "invalid UTF-8 at byte " + std::to_string(i));
      i += length;
      continue;
    }
    if (in_string) {
      // An escape's next byte is ASCII in valid JSON; if it is not, the next round checks it.
      if (c == '\\' && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0x80) {
        i += 2;
        continue;
      }
      if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{' || c == ',') {
      if (c != ',' && ++depth > limits.max_depth) {
        fail(Kind::kTooDeep, what,
             "JSON nested deeper than " + std::to_string(limits.max_depth) + " levels");
      }
      if (++values > limits.max_values) {
        fail(Kind::kTooManyValues, what,
             "JSON of more than " + std::to_string(limits.max_values) + " values");
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;  // unbalanced closers are the parser's to report
    }
    ++i;
  }
}

nlohmann::json parse_untrusted_json(std::string_view text, std::string_view what,
                                    const JsonLimits& limits) {
  check_untrusted_json(text, what, limits);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann counts from 1; an offset, as for invalid UTF-8, is one less.
    std::size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    fail(Kind::kMalformed, what, "malformed JSON at byte " + std::to_string(offset));
  } catch (const nlohmann::json::exception& e) {
    // Not expected after the checks above (numbers out of range become doubles); typed anyway.
    fail(Kind::kMalformed, what, "malformed JSON (error " + std::to_string(e.id) + ")");
  }
}

}  // namespace kvrun::protocol
