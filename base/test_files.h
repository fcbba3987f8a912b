// Small file helpers for unit tests: paths under TEST_TMPDIR, whole-file
// binary reads and writes.
//
//   const std::string path = TestTmpPath("report.json");
//   WriteTestFile(path, "{}\n");
//   EXPECT_EQ(ReadFileOrEmpty(path), "{}\n");
#ifndef BASE_TEST_FILES_H_
#define BASE_TEST_FILES_H_

#include <string>

#include "absl/strings/string_view.h"

namespace flaky::testing {

// TestTmpPath returns "$TEST_TMPDIR/<name>". It does not create anything.
// TEST_TMPDIR must be set (bazel test always sets it).
std::string TestTmpPath(absl::string_view name);

// ReadFileOrEmpty returns the whole file at `path`, byte for byte, or "" if
// it cannot be opened (so a missing file reads as empty).
std::string ReadFileOrEmpty(const std::string& path);

// WriteTestFile writes `data` to `path` in binary, replacing the file, or
// appending to it when `append` is true. On failure it records a non-fatal
// gtest failure naming the path (ADD_FAILURE) and the test goes on.
void WriteTestFile(const std::string& path, absl::string_view data,
                   bool append = false);

}  // namespace flaky::testing

#endif  // BASE_TEST_FILES_H_
