#include "flaky/results/signature.h"

#include <string>

#include "gtest/gtest.h"

namespace flaky::results {
namespace {

TEST(FailureSignature, NumbersGroupInterpreterIds) {
  EXPECT_EQ(FailureSignature("unrecognized interpreter ID 60"),
            FailureSignature("unrecognized interpreter ID 61"));
  EXPECT_EQ(FailureSignature("unrecognized interpreter ID 60"),
            "unrecognized interpreter ID N");
}

TEST(FailureSignature, DifferentFailuresStayApart) {
  EXPECT_NE(FailureSignature("unrecognized interpreter ID 60"),
            FailureSignature("interpreter already running"));
  EXPECT_EQ(FailureSignature("interpreter already running"),
            "interpreter already running");
}

TEST(FailureSignature, GtestMessageKeepsSourceLineAndCustomText) {
  const std::string run2 =
      "flaky/results/testdata/fixture_test.cc:25\n"
      "Value of: RunNumber() != 2 && calls != 2\n"
      "  Actual: false\n"
      "Expected: true\n"
      "unrecognized interpreter ID 63";
  const std::string run5 =
      "flaky/results/testdata/fixture_test.cc:25\n"
      "Value of: RunNumber() != 2 && calls != 2\n"
      "  Actual: false\n"
      "Expected: true\n"
      "unrecognized interpreter ID 66";
  EXPECT_EQ(FailureSignature(run2), FailureSignature(run5));
  EXPECT_EQ(FailureSignature(run2),
            "flaky/results/testdata/fixture_test.cc:25 | "
            "Value of: RunNumber() != N && calls != N | Actual: false | "
            "Expected: true | unrecognized interpreter ID N");
  // Another assertion in the same file is another failure.
  EXPECT_NE(FailureSignature("fixture_test.cc:25\nboom"),
            FailureSignature("fixture_test.cc:31\nboom"));
}

TEST(FailureSignature, AddressesBecomeAddr) {
  EXPECT_EQ(FailureSignature("bad pointer 0x7ffd3a2c10 at 0X1F"),
            "bad pointer ADDR at ADDR");
  EXPECT_EQ(FailureSignature("object deadbeef12 freed"), "object ADDR freed");
  // Short or letter-free hex-looking tokens are not addresses.
  EXPECT_EQ(FailureSignature("cafe 12345678"), "cafe N");
}

TEST(FailureSignature, AbsolutePathsKeepTheirBaseName) {
  EXPECT_EQ(FailureSignature("cannot open /root/.cache/bazel/sandbox/14/"
                             "execroot/flaky/data.txt: denied"),
            "cannot open PATH/data.txt: denied");
  EXPECT_EQ(FailureSignature("cannot open /tmp/a/run_7/data.txt"),
            FailureSignature("cannot open /var/tmp/b/data.txt"));
  EXPECT_EQ(FailureSignature("log at file:///tmp/x/test.log"),
            "log at file://PATH/test.log");
  EXPECT_EQ(FailureSignature("quoted '/a/b/c.txt' and (/d/e)"),
            "quoted 'PATH/c.txt' and (PATH/e)");
  // Relative paths and Bazel labels are stable and stay as they are.
  EXPECT_EQ(FailureSignature("see runtime/interp.cc and //tests/race:x_2"),
            "see runtime/interp.cc and //tests/race:x_2");
  // A lone slash is not a path.
  EXPECT_EQ(FailureSignature("ratio 3 / 4"), "ratio N / N");
}

TEST(FailureSignature, DigitsInsideIdentifiersAreKeptUnitsToo) {
  EXPECT_EQ(FailureSignature("int64 overflow in run_2 after 3rd try, -7.5s"),
            "int64 overflow in run_2 after Nrd try, -Ns");
  EXPECT_EQ(FailureSignature("timed out after 5000ms"),
            FailureSignature("timed out after 4999ms"));
}

TEST(FailureSignature, WhitespaceCollapsedAndBlankLinesDropped) {
  EXPECT_EQ(FailureSignature("  a \t b  \r\n\n\n   c  "), "a b | c");
  EXPECT_EQ(FailureSignature(" \n\t\n"), "");
  EXPECT_EQ(FailureSignature(""), "");
}

TEST(FailureSignature, KeepsOnlyTheFirstLines) {
  std::string message;
  for (int i = 0; i < 20; ++i) message += "line\n";
  std::string expected = "line";
  for (int i = 1; i < kMaxSignatureLines; ++i) expected += " | line";
  EXPECT_EQ(FailureSignature(message), expected);
}

TEST(FailureSignature, CutsLongMessagesOnUtf8Boundaries) {
  std::string message;
  for (int i = 0; i < 200; ++i) message += "\xC3\xA9";  // U+00E9, 2 bytes
  const std::string signature = FailureSignature(message);
  EXPECT_LE(signature.size(), kMaxSignatureLength);
  EXPECT_GE(signature.size(), kMaxSignatureLength - 1);
  EXPECT_EQ(signature.size() % 2, 0u) << "split a UTF-8 sequence";
}

}  // namespace
}  // namespace flaky::results
