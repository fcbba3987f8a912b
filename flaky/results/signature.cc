#include "flaky/results/signature.h"

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace flaky::results {
namespace {

bool IsIdentChar(char c) { return absl::ascii_isalnum(c) || c == '_'; }

// A path ends at whitespace or at punctuation that quotes or delimits it in
// messages ("'/a/b'", "(/a/b)", "/a/b:12", "/a/b,").
bool IsPathChar(char c) {
  return !absl::ascii_isspace(c) && c != '\'' && c != '"' && c != '(' &&
         c != ')' && c != '[' && c != ']' && c != '<' && c != '>' &&
         c != ',' && c != ';' && c != ':' && c != '`';
}

// A source file name right before ':' (e.g. "x.cc" in "x.cc:25"): a dot
// followed by 1-4 letters, reached by scanning back over identifier chars.
bool EndsWithSourceFileName(absl::string_view out) {
  size_t i = out.size();
  size_t letters = 0;
  while (i > 0 && absl::ascii_isalpha(out[i - 1])) {
    --i;
    ++letters;
  }
  if (letters == 0 || letters > 4 || i == 0 || out[i - 1] != '.') return false;
  --i;
  return i > 0 && (IsIdentChar(out[i - 1]) || out[i - 1] == '-');
}

bool IsHexRun(absl::string_view s) {
  bool letter = false;
  bool digit = false;
  for (char c : s) {
    if (absl::ascii_isdigit(c)) {
      digit = true;
    } else if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
      letter = true;
    } else {
      return false;
    }
  }
  return s.size() >= 8 && letter && digit;
}

// NormaliseLine applies the path, address and number rules to one line
// whose whitespace is already collapsed.
std::string NormaliseLine(absl::string_view line) {
  std::string out;
  out.reserve(line.size());
  size_t i = 0;
  while (i < line.size()) {
    const char c = line[i];
    const bool at_token_start = i == 0 || !IsIdentChar(line[i - 1]);
    bool after_uri_scheme = false;
    if (c == '/' && i + 1 < line.size() && line[i + 1] == '/') {
      size_t slashes_end = i;
      while (slashes_end < line.size() && line[slashes_end] == '/') {
        ++slashes_end;
      }
      if (slashes_end - i == 2) {
        // A Bazel label ("//pkg/sub:target") is stable: keep its package.
        size_t end = slashes_end;
        while (end < line.size() && IsPathChar(line[end])) ++end;
        out.append(line.data() + i, end - i);
        i = end;
        continue;
      }
      // "file:///abs/path": keep "file://", normalise the path.
      out.append(line.data() + i, slashes_end - i - 1);
      i = slashes_end - 1;
      after_uri_scheme = true;
    }
    // Absolute path: '/' at a token start, not inside a relative path
    // ("a/b", "./a", "../a").
    if (line[i] == '/' &&
        (after_uri_scheme || i == 0 ||
         (!IsIdentChar(line[i - 1]) && line[i - 1] != '.')) &&
        i + 1 < line.size() && IsPathChar(line[i + 1])) {
      size_t end = i;
      while (end < line.size() && IsPathChar(line[end])) ++end;
      absl::string_view path = line.substr(i, end - i);
      // "/" alone or "/ " is division or prose, not a path.
      if (path.find('/', 1) != absl::string_view::npos) {
        size_t slash = path.rfind('/');
        absl::string_view base = path.substr(slash + 1);
        out += "PATH/";
        out += NormaliseLine(base);
        i = end;
        continue;
      }
    }
    if (at_token_start && c == '0' && i + 2 < line.size() &&
        (line[i + 1] == 'x' || line[i + 1] == 'X') &&
        absl::ascii_isxdigit(line[i + 2])) {
      size_t end = i + 2;
      while (end < line.size() && absl::ascii_isxdigit(line[end])) ++end;
      if (end == line.size() || !IsIdentChar(line[end])) {
        out += "ADDR";
        i = end;
        continue;
      }
    }
    if (at_token_start && absl::ascii_isxdigit(c)) {
      size_t end = i;
      while (end < line.size() && IsIdentChar(line[end])) ++end;
      absl::string_view token = line.substr(i, end - i);
      if (IsHexRun(token)) {
        out += "ADDR";
        i = end;
        continue;
      }
      if (absl::ascii_isdigit(c)) {
        // A number, with an optional fraction; a unit or ordinal suffix
        // stays ("100ms" -> "Nms", "3rd" -> "Nrd").
        size_t num_end = i;
        while (num_end < line.size() && absl::ascii_isdigit(line[num_end])) {
          ++num_end;
        }
        if (num_end + 1 < line.size() && line[num_end] == '.' &&
            absl::ascii_isdigit(line[num_end + 1])) {
          ++num_end;
          while (num_end < line.size() &&
                 absl::ascii_isdigit(line[num_end])) {
            ++num_end;
          }
        }
        const bool source_line =
            !out.empty() && out.back() == ':' &&
            EndsWithSourceFileName(absl::string_view(out.data(), out.size() - 1));
        if (source_line) {
          out.append(line.data() + i, num_end - i);
        } else {
          out += 'N';
        }
        i = num_end;
        continue;
      }
    }
    if (IsIdentChar(c)) {
      // Copy a whole identifier so its digits are kept ("int64", "run_2").
      size_t end = i;
      while (end < line.size() && IsIdentChar(line[end])) ++end;
      out.append(line.data() + i, end - i);
      i = end;
      continue;
    }
    out += c;
    ++i;
  }
  return out;
}

std::string CollapseWhitespace(absl::string_view line) {
  std::string out;
  out.reserve(line.size());
  bool space = false;
  for (char c : line) {
    if (absl::ascii_isspace(c)) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
void TruncateUtf8(std::string& s, size_t max) {
  if (s.size() <= max) return;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  s.resize(cut);
}

}  // namespace

std::string FailureSignature(absl::string_view message) {
  std::vector<std::string> lines;
  for (absl::string_view raw : absl::StrSplit(message, absl::ByAnyChar("\r\n"))) {
    std::string line = CollapseWhitespace(raw);
    if (line.empty()) continue;
    lines.push_back(NormaliseLine(line));
    if (static_cast<int>(lines.size()) == kMaxSignatureLines) break;
  }
  std::string signature = absl::StrJoin(lines, " | ");
  TruncateUtf8(signature, kMaxSignatureLength);
  return signature;
}

}  // namespace flaky::results
