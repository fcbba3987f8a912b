#include "flaky/results/junit.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "pugixml.hpp"

namespace flaky::results {
namespace {

bool Is(const pugi::xml_node& node, const char* name) {
  return std::strcmp(node.name(), name) == 0;
}

absl::Duration ParseSeconds(const char* text) {
  double seconds = 0;
  if (!absl::SimpleAtod(text, &seconds) || !(seconds >= 0) ||
      seconds > 1e9) {
    return absl::ZeroDuration();
  }
  return absl::Seconds(seconds);
}

// The message of a <failure>/<error>: its attribute, else its text (CDATA).
std::string FailureText(const pugi::xml_node& node) {
  std::string message = node.attribute("message").value();
  if (message.empty()) message = node.text().get();
  if (message.empty()) message = node.child_value();
  return message;
}

TestCaseResult ParseCase(const pugi::xml_node& testcase,
                         absl::string_view suite_name, bool& fallback) {
  TestCaseResult result;
  result.name = testcase.attribute("name").value();
  const pugi::xml_attribute classname = testcase.attribute("classname");
  result.suite = classname ? classname.value() : std::string(suite_name);
  // Bazel's test-setup.sh fallback names the case after the target's path,
  // like its suite, and writes no classname.
  if (!classname && result.name == suite_name) {
    fallback = true;
  } else {
    result.test_case = result.suite.empty()
                           ? result.name
                           : absl::StrCat(result.suite, ".", result.name);
  }
  result.duration = ParseSeconds(testcase.attribute("time").value());

  const absl::string_view status = testcase.attribute("status").value();
  const absl::string_view gtest_result = testcase.attribute("result").value();
  pugi::xml_node failure = testcase.child("failure");
  pugi::xml_node error = testcase.child("error");
  if (failure) {
    result.outcome = Outcome::kFail;
    result.failure_message = FailureText(failure);
  } else if (error) {
    result.outcome = Outcome::kError;
    result.failure_message = FailureText(error);
  } else if (testcase.child("skipped") || status == "notrun" ||
             gtest_result == "skipped" || gtest_result == "suppressed") {
    result.outcome = Outcome::kSkipped;
  } else {
    result.outcome = Outcome::kPass;
  }
  return result;
}

void CollectSuite(const pugi::xml_node& suite, JUnitReport& report) {
  const std::string suite_name = suite.attribute("name").value();
  for (const pugi::xml_node& child : suite.children()) {
    if (Is(child, "testcase")) {
      bool fallback = false;
      report.cases.push_back(ParseCase(child, suite_name, fallback));
      if (fallback) report.bazel_fallback = true;
    } else if (Is(child, "testsuite")) {
      CollectSuite(child, report);  // nested suites (JUnit 5, pytest)
    }
  }
}

}  // namespace

absl::StatusOr<JUnitReport> ParseJUnitXml(absl::string_view xml,
                                          absl::string_view source) {
  if (xml.find_first_not_of(" \t\r\n") == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, " is empty: the test wrote no JUnit XML"));
  }
  pugi::xml_document document;
  const pugi::xml_parse_result parsed =
      document.load_buffer(xml.data(), xml.size(), pugi::parse_default,
                           pugi::encoding_auto);
  if (!parsed) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, " is not well-formed XML: ",
                     parsed.description(), " at byte ", parsed.offset));
  }
  const pugi::xml_node root = document.document_element();
  JUnitReport report;
  if (Is(root, "testsuites")) {
    for (const pugi::xml_node& suite : root.children("testsuite")) {
      CollectSuite(suite, report);
    }
  } else if (Is(root, "testsuite")) {
    CollectSuite(root, report);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(source, " is not JUnit XML: the root element is <",
                     root.name(), ">, expected <testsuites> or <testsuite>"));
  }
  return report;
}

absl::StatusOr<JUnitReport> ReadJUnitXml(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    if (error == ENOENT) {
      return absl::NotFoundError(absl::StrCat(
          "test.xml ", path, " does not exist: the run wrote no results"));
    }
    return absl::UnavailableError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(error)));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    return absl::UnavailableError(absl::StrCat("cannot read ", path));
  }
  return ParseJUnitXml(buffer.str(), path);
}

}  // namespace flaky::results
