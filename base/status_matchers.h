// GoogleTest matchers for absl::Status and absl::StatusOr.
//
// Abseil 20220623 ships no public status matchers; these are flaky's two:
//
//   EXPECT_THAT(store.Insert(trial), IsOk());
//   EXPECT_THAT(registry.Destroy(60),
//               StatusIs(absl::StatusCode::kNotFound,
//                        HasSubstr("unrecognized interpreter ID 60")));
#ifndef BASE_STATUS_MATCHERS_H_
#define BASE_STATUS_MATCHERS_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace flaky::testing {

namespace internal {

inline const absl::Status& GetStatus(const absl::Status& status) {
  return status;
}

template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace internal

// IsOk() matches an OK absl::Status or an absl::StatusOr holding a value.
MATCHER(IsOk, "is OK") {
  const absl::Status& status = internal::GetStatus(arg);
  if (!status.ok()) *result_listener << "status is " << status;
  return status.ok();
}

// StatusIs(code[, message_matcher]) matches a Status or StatusOr whose code
// equals `code` and whose message matches `message_matcher` (any message
// when omitted).
MATCHER_P2(StatusIs, code, message_matcher,
           "has code " + absl::StatusCodeToString(code) + " and a message " +
               ::testing::DescribeMatcher<std::string>(message_matcher)) {
  const absl::Status& status = internal::GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code &&
         ::testing::Matches(message_matcher)(std::string(status.message()));
}

MATCHER_P(StatusIs, code, "has code " + absl::StatusCodeToString(code)) {
  const absl::Status& status = internal::GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code;
}

}  // namespace flaky::testing

#endif  // BASE_STATUS_MATCHERS_H_
