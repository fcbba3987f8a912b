#include "flaky/metrics/refresh.h"

#include <memory>

#include "base/status_matchers.h"
#include "flaky/metrics/textfile.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace flaky::metrics {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

TEST(RefreshingCollectable, RefreshesBeforeEveryCollect) {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::Gauge& gauge =
      prometheus::BuildGauge().Name("store_rows").Help("h").Register(*registry).Add({});
  int rows = 0;
  auto collectable = RefreshingCollectable::Create(registry, [&] {
    gauge.Set(++rows);
    return absl::OkStatus();
  });
  ASSERT_THAT(collectable, IsOk());
  EXPECT_THAT(*RenderText(**collectable), HasSubstr("store_rows 1\n"));
  EXPECT_THAT(*RenderText(**collectable), HasSubstr("store_rows 2\n"));
  EXPECT_THAT((*collectable)->last_error(), IsOk());
}

TEST(RefreshingCollectable, AFailedRefreshKeepsValuesAndCountsTheError) {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::Gauge& gauge =
      prometheus::BuildGauge().Name("store_rows").Help("h").Register(*registry).Add({});
  bool store_down = false;
  auto collectable = RefreshingCollectable::Create(registry, [&] {
    if (store_down) return absl::UnavailableError("store.db is locked");
    gauge.Set(7);
    return absl::OkStatus();
  });
  ASSERT_THAT(collectable, IsOk());
  ASSERT_THAT(RenderText(**collectable), IsOk());
  store_down = true;
  auto text = RenderText(**collectable);
  ASSERT_THAT(text, IsOk());
  EXPECT_THAT(*text, HasSubstr("store_rows 7\n"));
  EXPECT_THAT(*text, HasSubstr("flaky_metrics_refresh_errors_total 1\n"));
  EXPECT_THAT((*collectable)->last_error(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("locked")));
}

TEST(RefreshingCollectable, CreateNeedsACallback) {
  EXPECT_THAT(RefreshingCollectable::Create(
                  std::make_shared<prometheus::Registry>(), nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace flaky::metrics
