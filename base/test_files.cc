#include "base/test_files.h"

#include <cstdlib>
#include <fstream>
#include <ios>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace flaky::testing {

std::string TestTmpPath(absl::string_view name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir == nullptr ? "" : dir, "/", name);
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void WriteTestFile(const std::string& path, absl::string_view data,
                   bool append) {
  std::ofstream out(path, std::ios::binary |
                              (append ? std::ios::app : std::ios::trunc));
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out.good()) ADD_FAILURE() << "cannot write " << path;
}

}  // namespace flaky::testing
