// UTF-8 for text that crosses into formats that demand it: test-case names
// and messages come from test logs and test.xml in whatever bytes the test
// wrote (Latin-1 names are common), but a Prometheus label value, a JSON
// string or an XML text node must be valid UTF-8, and one bad byte makes
// Prometheus drop the whole scrape.
//
//   ValidUtf8("S.caf\xe9");   // "S.caf\uFFFD": the stray byte replaced
//   ValidUtf8("S.café");      // unchanged
//
// Pure and thread-safe.
#ifndef BASE_UTF8_H_
#define BASE_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace flaky {

// kUtf8Replacement is U+FFFD, what invalid input becomes.
inline constexpr char kUtf8Replacement[] = "\xEF\xBF\xBD";

// DecodeUtf8 decodes the sequence starting at text[i] (i < text.size())
// into *code_point and returns its length in bytes, or 0 when it is not
// valid UTF-8 there (overlong, truncated, a surrogate, beyond U+10FFFF, or
// a stray continuation byte).
size_t DecodeUtf8(absl::string_view text, size_t i, uint32_t* code_point);

// ValidUtf8 returns `text` with every byte that does not start a valid
// sequence replaced by U+FFFD; valid text comes back unchanged.
std::string ValidUtf8(absl::string_view text);

}  // namespace flaky

#endif  // BASE_UTF8_H_
