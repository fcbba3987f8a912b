// Escaping for the report formats: text that came from test logs (failure
// messages, signatures, paths) may hold anything, including ANSI colour
// codes and broken UTF-8, and must not break the XML, SVG or markdown it is
// put in.
//
//   XmlSafeText("boom \x1b[31mred\x1b[0m");  // "boom \uFFFD[31mred\uFFFD[0m"
//   XmlEscape("a < b & \"c\"");              // "a &lt; b &amp; &quot;c&quot;"
//   MarkdownText("a|b *c*");                 // "a\\|b \\*c\\*"
//   MarkdownCode("x | `y`");                 // "`` x \\| `y` ``"
//
// All functions are pure and thread-safe.
#ifndef FLAKY_REPORT_ESCAPE_H_
#define FLAKY_REPORT_ESCAPE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace flaky::report {

// XmlSafeText returns `text` as valid UTF-8 holding only characters XML 1.0
// allows: invalid bytes and control characters other than tab, newline and
// carriage return become U+FFFD. Markup characters are left alone (pugixml
// escapes them when it writes).
std::string XmlSafeText(absl::string_view text);

// XmlEscape is XmlSafeText plus escaping of & < > " ' for text and
// attribute values written by hand (the SVG chart).
std::string XmlEscape(absl::string_view text);

// MarkdownText escapes markdown syntax so `text` renders literally on one
// line (newlines become spaces); safe inside a table cell.
std::string MarkdownText(absl::string_view text);

// MarkdownCode returns `text` as an inline code span that is safe inside a
// table cell (pipes escaped, a longer backtick fence when `text` holds
// backticks, newlines as spaces).
std::string MarkdownCode(absl::string_view text);

}  // namespace flaky::report

#endif  // FLAKY_REPORT_ESCAPE_H_
