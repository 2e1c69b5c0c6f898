// One thread and one queue per token slot (DESIGN.md section 6): a PIN prompt open on one
// token, or an RSA key generation, stalls nothing but that token's own queue. An idle
// worker waits on a condition variable and costs nothing.
#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace certkey::daemon {

class TokenWorker {
 public:
  TokenWorker();
  ~TokenWorker();  // runs what is queued, then joins
  TokenWorker(const TokenWorker&) = delete;
  TokenWorker& operator=(const TokenWorker&) = delete;

  void post(std::function<void()> job);
  // Nothing running and nothing queued.
  bool idle() const;

 private:
  void loop();

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool running_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace certkey::daemon
