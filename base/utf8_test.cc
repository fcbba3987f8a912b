#include "base/utf8.h"

#include <cstdint>
#include <string>

#include "gtest/gtest.h"

namespace flaky {
namespace {

TEST(ValidUtf8, KeepsValidTextAndReplacesEveryBadByte) {
  EXPECT_EQ(ValidUtf8("S.caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x90\x9b"),
            "S.caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x90\x9b");
  EXPECT_EQ(ValidUtf8("S.caf\xe9"), "S.caf\xEF\xBF\xBD");      // Latin-1
  EXPECT_EQ(ValidUtf8("cut \xe2\x9c"), "cut \xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(ValidUtf8("overlong \xc0\xaf"), "overlong \xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(ValidUtf8("surrogate \xed\xa0\x80"),
            "surrogate \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(ValidUtf8("big \xf4\x90\x80\x80"),
            "big \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(ValidUtf8(std::string("nul\0ok", 6)), std::string("nul\0ok", 6));
  EXPECT_EQ(ValidUtf8(""), "");
}

TEST(DecodeUtf8, ReturnsTheCodePointAndLength) {
  uint32_t c = 0;
  EXPECT_EQ(DecodeUtf8("\xc3\xa9", 0, &c), 2u);
  EXPECT_EQ(c, 0xE9u);
  EXPECT_EQ(DecodeUtf8("a\xf0\x9f\x90\x9b", 1, &c), 4u);
  EXPECT_EQ(c, 0x1F41Bu);
  EXPECT_EQ(DecodeUtf8("\x80", 0, &c), 0u);
}

}  // namespace
}  // namespace flaky
