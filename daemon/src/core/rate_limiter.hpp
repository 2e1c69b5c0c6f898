// Per-origin rate limit on state-changing commands (DESIGN.md section 6, item 5): a token
// bucket per origin that holds `per_minute` requests and refills at that rate. Programs on
// this computer (no origin) are not limited: they could reach the tokens through PC/SC.
#pragma once
#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace certkey::daemon {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimiter(unsigned per_minute) : per_minute_(per_minute) {}
  // Takes one request from the origin's bucket; false when it is empty.
  bool allow(const std::string& origin, Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
  };
  static constexpr std::size_t kMaxOrigins = 1024;  // only allowlisted origins get here
  unsigned per_minute_;
  std::mutex mutex_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace certkey::daemon
