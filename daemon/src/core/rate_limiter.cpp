#include "rate_limiter.hpp"

#include <algorithm>

namespace certkey::daemon {

bool RateLimiter::allow(const std::string& origin, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (buckets_.size() >= kMaxOrigins && !buckets_.count(origin))
    buckets_.clear();  // full buckets anyway
  auto [it, fresh] = buckets_.try_emplace(origin, Bucket{static_cast<double>(per_minute_), now});
  Bucket& b = it->second;
  // Another thread may have updated the bucket with a later `now`: time never runs back.
  const double minutes =
      std::max(0.0, std::chrono::duration<double, std::ratio<60>>(now - b.updated).count());
  b.tokens = std::min<double>(per_minute_, b.tokens + minutes * per_minute_);
  b.updated = std::max(b.updated, now);
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

}  // namespace certkey::daemon
