#include "runtime/script.h"

#include <cctype>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace subinterp {
namespace {

// LineParser walks one line; columns are 1-based byte offsets.
class LineParser {
 public:
  LineParser(absl::string_view line, int line_number)
      : line_(line), line_number_(line_number) {}

  absl::Status Error(size_t pos, absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(
        "SyntaxError: line ", line_number_, ", column ", pos + 1, ": ", what));
  }

  void SkipSpaces() {
    while (pos_ < line_.size() && (line_[pos_] == ' ' || line_[pos_] == '\t'))
      ++pos_;
  }

  bool AtEnd() {
    SkipSpaces();
    return pos_ >= line_.size() || line_[pos_] == '#';
  }

  size_t pos() const { return pos_; }

  // Word reads a run of non-space, non-quote characters.
  absl::string_view Word() {
    SkipSpaces();
    const size_t start = pos_;
    while (pos_ < line_.size() && !std::isspace(static_cast<unsigned char>(
                                      line_[pos_])) &&
           line_[pos_] != '"' && line_[pos_] != '#')
      ++pos_;
    return line_.substr(start, pos_ - start);
  }

  absl::StatusOr<int64_t> Integer(absl::string_view what) {
    SkipSpaces();
    const size_t start = pos_;
    absl::string_view word = Word();
    int64_t value = 0;
    if (word.empty() || word.find_first_not_of("0123456789") != word.npos ||
        !absl::SimpleAtoi(word, &value)) {
      return Error(start, absl::StrCat("expected ", what,
                                       " (a non-negative integer)"));
    }
    return value;
  }

  absl::StatusOr<std::string> QuotedString() {
    SkipSpaces();
    const size_t start = pos_;
    if (pos_ >= line_.size() || line_[pos_] != '"') {
      return Error(start, "expected a string in double quotes");
    }
    ++pos_;
    std::string out;
    while (pos_ < line_.size()) {
      const char c = line_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= line_.size()) break;
      const char escaped = line_[pos_++];
      switch (escaped) {
        case 'n':
          out.push_back('\n');
          break;
        case 't':
          out.push_back('\t');
          break;
        case '"':
        case '\\':
          out.push_back(escaped);
          break;
        default:
          return Error(pos_ - 2, absl::StrCat("unknown escape \\", 
                                              std::string(1, escaped)));
      }
    }
    return Error(start, "unterminated string");
  }

  absl::Status ExpectEnd() {
    if (!AtEnd()) return Error(pos_, "unexpected text after the statement");
    return absl::OkStatus();
  }

 private:
  absl::string_view line_;
  int line_number_;
  size_t pos_ = 0;
};

bool IsIdentifier(absl::string_view word) {
  if (word.empty() || std::isdigit(static_cast<unsigned char>(word[0])))
    return false;
  for (char c : word) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

absl::StatusOr<std::optional<Op>> ParseLine(absl::string_view line,
                                            int line_number) {
  LineParser p(line, line_number);
  if (p.AtEnd()) return std::optional<Op>();
  const size_t keyword_pos = p.pos();
  const absl::string_view keyword = p.Word();
  Op op;
  op.line = line_number;
  if (keyword == "print") {
    op.kind = OpKind::kPrint;
    absl::StatusOr<std::string> text = p.QuotedString();
    if (!text.ok()) return text.status();
    op.text = *std::move(text);
  } else if (keyword == "sleep") {
    op.kind = OpKind::kSleep;
    p.SkipSpaces();
    const size_t start = p.pos();
    const absl::string_view word = p.Word();
    if (!absl::ParseDuration(word, &op.duration) ||
        op.duration < absl::ZeroDuration() ||
        op.duration == absl::InfiniteDuration()) {
      return p.Error(start,
                     "expected a finite non-negative duration such as 10ms");
    }
  } else if (keyword == "recv" || keyword == "send") {
    op.kind = keyword == "recv" ? OpKind::kRecv : OpKind::kSend;
    absl::StatusOr<int64_t> channel = p.Integer("a channel ID");
    if (!channel.ok()) return channel.status();
    op.number = *channel;
    if (op.kind == OpKind::kSend) {
      absl::StatusOr<std::string> text = p.QuotedString();
      if (!text.ok()) return text.status();
      op.text = *std::move(text);
    }
  } else if (keyword == "spin") {
    op.kind = OpKind::kSpin;
    absl::StatusOr<int64_t> steps = p.Integer("a number of steps");
    if (!steps.ok()) return steps.status();
    op.number = *steps;
  } else if (keyword == "raise") {
    op.kind = OpKind::kRaise;
    p.SkipSpaces();
    const size_t start = p.pos();
    const absl::string_view name = p.Word();
    if (!IsIdentifier(name)) {
      return p.Error(start, "expected an exception name such as ValueError");
    }
    op.name = std::string(name);
    absl::StatusOr<std::string> text = p.QuotedString();
    if (!text.ok()) return text.status();
    op.text = *std::move(text);
  } else {
    return p.Error(keyword_pos,
                   absl::StrCat("unknown statement '", keyword,
                                "' (expected print, sleep, recv, send, spin "
                                "or raise)"));
  }
  absl::Status end = p.ExpectEnd();
  if (!end.ok()) return end;
  return std::optional<Op>(std::move(op));
}

}  // namespace

absl::StatusOr<Program> ParseScript(absl::string_view source) {
  Program program;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(source, '\n')) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    absl::StatusOr<std::optional<Op>> op = ParseLine(line, line_number);
    if (!op.ok()) return op.status();
    if (op->has_value()) program.ops.push_back(**std::move(op));
  }
  return program;
}

}  // namespace subinterp
