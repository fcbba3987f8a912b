#include "flaky/report/escape.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "base/utf8.h"

namespace flaky::report {
namespace {

bool XmlAllowed(uint32_t c) {
  if (c == 0x9 || c == 0xA || c == 0xD) return true;
  if (c < 0x20) return false;
  if (c == 0xFFFE || c == 0xFFFF) return false;
  return true;
}

}  // namespace

std::string XmlSafeText(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t c = 0;
    const size_t length = DecodeUtf8(text, i, &c);
    if (length == 0) {
      out += kUtf8Replacement;
      ++i;
      continue;
    }
    if (XmlAllowed(c)) {
      out.append(text.data() + i, length);
    } else {
      out += kUtf8Replacement;
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
