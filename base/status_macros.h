// Early-return helpers for absl::Status and absl::StatusOr.
//
// Abseil 20220623 (Debian's) has no public RETURN_IF_ERROR/ASSIGN_OR_RETURN,
// so flaky defines its two, once, here:
//
//   absl::Status Save(const Trial& trial) {
//     FLAKY_RETURN_IF_ERROR(store.Open());
//     FLAKY_ASSIGN_OR_RETURN(int64_t id, store.Insert(trial));
//     ...
//   }
#ifndef BASE_STATUS_MACROS_H_
#define BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// FLAKY_RETURN_IF_ERROR(expr) evaluates `expr` (an absl::Status) once and
// returns it from the enclosing function when it is not OK.
#define FLAKY_RETURN_IF_ERROR(expr)                      \
  do {                                                   \
    const ::absl::Status flaky_status_ = (expr);         \
    if (!flaky_status_.ok()) return flaky_status_;       \
  } while (false)

#define FLAKY_STATUS_CONCAT_INNER_(a, b) a##b
#define FLAKY_STATUS_CONCAT_(a, b) FLAKY_STATUS_CONCAT_INNER_(a, b)

// FLAKY_ASSIGN_OR_RETURN(lhs, expr) evaluates `expr` (an absl::StatusOr<T>);
// on error returns its status, otherwise moves the value into `lhs`, which
// may be a declaration (`int x`) or an existing variable.
#define FLAKY_ASSIGN_OR_RETURN(lhs, expr)                                   \
  FLAKY_ASSIGN_OR_RETURN_IMPL_(                                             \
      FLAKY_STATUS_CONCAT_(flaky_statusor_, __LINE__), lhs, expr)

#define FLAKY_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // BASE_STATUS_MACROS_H_
