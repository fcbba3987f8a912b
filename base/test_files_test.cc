#include "base/test_files.h"

#include <cstdlib>
#include <string>

#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"

namespace flaky::testing {
namespace {

TEST(TestTmpPath, IsUnderTestTmpdir) {
  EXPECT_EQ(TestTmpPath("a.txt"),
            std::string(std::getenv("TEST_TMPDIR")) + "/a.txt");
}

TEST(WriteTestFile, WritesBytesThatReadBack) {
  const std::string path = TestTmpPath("write.bin");
  const std::string data("a\0b\r\n\xff", 6);
  WriteTestFile(path, data);
  EXPECT_EQ(ReadFileOrEmpty(path), data);
  WriteTestFile(path, "short");
  EXPECT_EQ(ReadFileOrEmpty(path), "short");
}

TEST(WriteTestFile, AppendKeepsWhatIsThere) {
  const std::string path = TestTmpPath("append.txt");
  WriteTestFile(path, "one\n");
  WriteTestFile(path, "two\n", /*append=*/true);
  EXPECT_EQ(ReadFileOrEmpty(path), "one\ntwo\n");
}

TEST(WriteTestFile, FailureNamesThePath) {
  const std::string path = TestTmpPath("no/such/dir/file.txt");
  EXPECT_NONFATAL_FAILURE(WriteTestFile(path, "x"), "no/such/dir/file.txt");
}

TEST(ReadFileOrEmpty, MissingFileIsEmpty) {
  EXPECT_EQ(ReadFileOrEmpty(TestTmpPath("does_not_exist")), "");
}

}  // namespace
}  // namespace flaky::testing
