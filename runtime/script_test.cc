#include "runtime/script.h"

#include <random>
#include <string>

#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace subinterp {
namespace {

using ::flaky::testing::StatusIs;
using ::testing::StartsWith;

TEST(ParseScript, ParsesEveryStatement) {
  absl::StatusOr<Program> program = ParseScript(
      "# wait for \"signal\"\n"
      "print \"sp\\\"am\\n\"\n"
      "\n"
      "sleep 1.5ms   # trailing comment\n"
      "recv 3\n"
      "send 4 \"done\"\r\n"
      "spin 1000\n"
      "raise ValueError \"boom\"\n");
  ASSERT_TRUE(program.ok()) << program.status();
  ASSERT_EQ(program->ops.size(), 6u);
  EXPECT_EQ(program->ops[0].kind, OpKind::kPrint);
  EXPECT_EQ(program->ops[0].text, "sp\"am\n");
  EXPECT_EQ(program->ops[0].line, 2);
  EXPECT_EQ(program->ops[1].kind, OpKind::kSleep);
  EXPECT_EQ(program->ops[1].duration, absl::Microseconds(1500));
  EXPECT_EQ(program->ops[2].kind, OpKind::kRecv);
  EXPECT_EQ(program->ops[2].number, 3);
  EXPECT_EQ(program->ops[3].kind, OpKind::kSend);
  EXPECT_EQ(program->ops[3].number, 4);
  EXPECT_EQ(program->ops[3].text, "done");
  EXPECT_EQ(program->ops[4].kind, OpKind::kSpin);
  EXPECT_EQ(program->ops[4].number, 1000);
  EXPECT_EQ(program->ops[5].kind, OpKind::kRaise);
  EXPECT_EQ(program->ops[5].name, "ValueError");
  EXPECT_EQ(program->ops[5].text, "boom");
}

TEST(ParseScript, EmptyScriptIsEmptyProgram) {
  absl::StatusOr<Program> program = ParseScript("");
  ASSERT_TRUE(program.ok());
  EXPECT_TRUE(program->ops.empty());
}

TEST(ParseScript, ReportsLineAndColumnOfTheOffendingToken) {
  const std::pair<const char*, const char*> cases[] = {
      {"print \"ok\"\n  frobnicate 1",
       "SyntaxError: line 2, column 3: unknown statement 'frobnicate' "
       "(expected print, sleep, recv, send, spin or raise)"},
      {"spin x", "SyntaxError: line 1, column 6: expected a number of steps "
                 "(a non-negative integer)"},
      {"spin -1", "SyntaxError: line 1, column 6: expected a number of steps "
                  "(a non-negative integer)"},
      {"recv", "SyntaxError: line 1, column 5: expected a channel ID "
               "(a non-negative integer)"},
      {"sleep soon", "SyntaxError: line 1, column 7: expected a finite "
                     "non-negative duration such as 10ms"},
      {"sleep -1s", "SyntaxError: line 1, column 7: expected a finite "
                    "non-negative duration such as 10ms"},
      {"print spam", "SyntaxError: line 1, column 7: expected a string in "
                     "double quotes"},
      {"print \"spam", "SyntaxError: line 1, column 7: unterminated string"},
      {"print \"a\\qb\"", "SyntaxError: line 1, column 9: unknown escape \\q"},
      {"spin 1 2", "SyntaxError: line 1, column 8: unexpected text after the "
                   "statement"},
      {"raise 9 \"x\"", "SyntaxError: line 1, column 7: expected an exception "
                        "name such as ValueError"},
      {"send 1", "SyntaxError: line 1, column 7: expected a string in double "
                 "quotes"},
  };
  for (const auto& [source, message] : cases) {
    EXPECT_THAT(ParseScript(source),
                StatusIs(absl::StatusCode::kInvalidArgument, message))
        << source;
  }
}

TEST(ParseScript, NeverCrashesOnArbitraryInput) {
  std::mt19937 random(37224);  // fixed seed: the same inputs every run
  const std::string alphabet = "printsleeprecvsendspinraise \"\\#\n\t0123456789msx-.";
  for (int i = 0; i < 20000; ++i) {
    std::string source(random() % 40, ' ');
    for (char& c : source) c = alphabet[random() % alphabet.size()];
    absl::StatusOr<Program> program = ParseScript(source);
    if (!program.ok()) {
      ASSERT_THAT(program, StatusIs(absl::StatusCode::kInvalidArgument,
                                    StartsWith("SyntaxError: line ")))
          << source;
    }
  }
}

}  // namespace
}  // namespace subinterp
