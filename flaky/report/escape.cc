#include "flaky/report/escape.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace flaky::report {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

bool XmlAllowed(uint32_t c) {
  if (c == 0x9 || c == 0xA || c == 0xD) return true;
  if (c < 0x20) return false;
  if (c >= 0xD800 && c <= 0xDFFF) return false;
  if (c == 0xFFFE || c == 0xFFFF) return false;
  return c <= 0x10FFFF;
}

// Decodes one UTF-8 sequence at `i`; returns its length, or 0 when invalid
// (overlong, truncated, or a stray continuation byte).
size_t DecodeUtf8(absl::string_view s, size_t i, uint32_t* code_point) {
  const unsigned char b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    *code_point = b0;
    return 1;
  }
  size_t length;
  uint32_t c;
  uint32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    length = 2;
    c = b0 & 0x1F;
    min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    length = 3;
    c = b0 & 0x0F;
    min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    length = 4;
    c = b0 & 0x07;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + length > s.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    const unsigned char b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    c = (c << 6) | (b & 0x3F);
  }
  if (c < min) return 0;
  *code_point = c;
  return length;
}

}  // namespace

std::string XmlSafeText(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t c = 0;
    const size_t length = DecodeUtf8(text, i, &c);
    if (length == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    if (XmlAllowed(c)) {
      out.append(text.data() + i, length);
    } else {
      out += kReplacement;
    }
    i += length;
  }
  return out;
}

std::string XmlEscape(absl::string_view text) {
  const std::string safe = XmlSafeText(text);
  std::string out;
  out.reserve(safe.size());
  for (char c : safe) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string MarkdownText(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '\n':
      case '\r':
      case '\t':
        out.push_back(' ');
        break;
      case '&':
        out += "&amp;";
        break;
      case '\\':
      case '`':
      case '*':
      case '_':
      case '[':
      case ']':
      case '<':
      case '>':
      case '|':
      case '~':
      case '#':
      case '!':
        out.push_back('\\');
        out.push_back(c);
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string MarkdownCode(absl::string_view text) {
  std::string body;
  size_t run = 0;
  size_t longest_run = 0;
  for (char c : text) {
    if (c == '`') {
      longest_run = std::max(longest_run, ++run);
    } else {
      run = 0;
    }
    if (c == '\n' || c == '\r' || c == '\t') {
      body.push_back(' ');
    } else if (c == '|') {
      body += "\\|";
    } else {
      body.push_back(c);
    }
  }
  const std::string fence(longest_run + 1, '`');
  if (longest_run == 0) return fence + body + fence;
  // A space on each side keeps a leading or trailing backtick off the fence.
  return fence + " " + body + " " + fence;
}

}  // namespace flaky::report
