// The per-origin rate limit on state-changing commands (daemon/src/core/rate_limiter.*,
// DESIGN.md section 6, security model item 5): a bucket of `per_minute` requests per origin
// that refills at that rate. Time is passed in, so nothing here waits.
#include "core/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace certkey::daemon {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const RateLimiter::Clock::time_point kStart =
    RateLimiter::Clock::time_point{} + std::chrono::hours(1);

TEST(RateLimiter, FullBucket_AllowsABurstOfPerMinuteThenRefuses) {
  RateLimiter limiter(3);
  EXPECT_TRUE(limiter.allow("https://ca.example.cn", kStart));
  EXPECT_TRUE(limiter.allow("https://ca.example.cn", kStart));
  EXPECT_TRUE(limiter.allow("https://ca.example.cn", kStart));
  EXPECT_FALSE(limiter.allow("https://ca.example.cn", kStart));
  EXPECT_FALSE(limiter.allow("https://ca.example.cn", kStart + seconds(1)));
}

TEST(RateLimiter, EmptyBucket_RefusesUntilRefilled) {
  RateLimiter limiter(3);  // one request every 20 seconds
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.allow("o", kStart));
  EXPECT_FALSE(limiter.allow("o", kStart + seconds(19)));
  EXPECT_TRUE(limiter.allow("o", kStart + seconds(21)));
  EXPECT_FALSE(limiter.allow("o", kStart + seconds(21)));
}

TEST(RateLimiter, LongIdleTime_RefillsOnlyUpToPerMinute) {
  RateLimiter limiter(3);
  ASSERT_TRUE(limiter.allow("o", kStart));
  const auto later = kStart + minutes(30);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.allow("o", later)) << i;
  EXPECT_FALSE(limiter.allow("o", later));
}

TEST(RateLimiter, Origins_HaveBucketsOfTheirOwn) {
  RateLimiter limiter(1);
  EXPECT_TRUE(limiter.allow("https://a.example.cn", kStart));
  EXPECT_FALSE(limiter.allow("https://a.example.cn", kStart));
  EXPECT_TRUE(limiter.allow("https://b.example.cn", kStart));
  EXPECT_FALSE(limiter.allow("https://b.example.cn", kStart));
}

}  // namespace
}  // namespace certkey::daemon
