#include "flaky/report/escape.h"

#include <string>

#include "gtest/gtest.h"
#include "pugixml.hpp"

namespace flaky::report {
namespace {

TEST(XmlSafeText, ReplacesControlCharactersAndBrokenUtf8) {
  EXPECT_EQ(XmlSafeText("plain <text> & more"), "plain <text> & more");
  EXPECT_EQ(XmlSafeText("tab\tnew\nline\r"), "tab\tnew\nline\r");
  EXPECT_EQ(XmlSafeText("a\x1b[31m"), "a\xEF\xBF\xBD[31m");
  EXPECT_EQ(XmlSafeText(std::string("nul\0x", 5)), "nul\xEF\xBF\xBDx");
  EXPECT_EQ(XmlSafeText("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x90\x9b"),
            "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x90\x9b");  // valid UTF-8 kept
  EXPECT_EQ(XmlSafeText("bad \xff byte"), "bad \xEF\xBF\xBD byte");
  EXPECT_EQ(XmlSafeText("cut \xe2\x9c"), "cut \xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(XmlSafeText("overlong \xc0\xaf"), "overlong \xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(XmlSafeText("\xef\xbf\xbe"), "\xEF\xBF\xBD");  // U+FFFE is not XML
}

TEST(XmlEscape, ProducesTextThatParsesBackToTheSafeText) {
  const std::string nasty = "a < b & \"c\" 'd' > e \x1b[0m \xff </x>";
  const std::string xml = "<root attr=\"" + XmlEscape(nasty) + "\">" + XmlEscape(nasty) +
                          "</root>";
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml.c_str())) << xml;
  EXPECT_EQ(std::string(doc.child("root").text().get()), XmlSafeText(nasty));
  EXPECT_EQ(std::string(doc.child("root").attribute("attr").value()), XmlSafeText(nasty));
}

TEST(MarkdownText, EscapesSyntaxAndStaysOnOneLine) {
  EXPECT_EQ(MarkdownText("a|b *c* _d_ [e](f) <g> `h` #1 ~i~ \\ &amp;"),
            "a\\|b \\*c\\* \\_d\\_ \\[e\\](f) \\<g\\> \\`h\\` \\#1 \\~i\\~ \\\\ &amp;amp;");
  EXPECT_EQ(MarkdownText("two\nlines"), "two lines");
}

TEST(MarkdownCode, FencesBackticksAndEscapesPipes) {
  EXPECT_EQ(MarkdownCode("x"), "`x`");
  EXPECT_EQ(MarkdownCode("a | b"), "`a \\| b`");
  EXPECT_EQ(MarkdownCode("use `x`"), "`` use `x` ``");
  EXPECT_EQ(MarkdownCode("``"), "``` `` ```");
  EXPECT_EQ(MarkdownCode("a\nb"), "`a b`");
}

}  // namespace
}  // namespace flaky::report
