#include "token_worker.hpp"

#include <cstdio>
#include <exception>

namespace certkey::daemon {

TokenWorker::TokenWorker() : thread_([this] { loop(); }) {}

TokenWorker::~TokenWorker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void TokenWorker::post(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
}

bool TokenWorker::idle() const {
  std::lock_guard lock(mutex_);
  return !running_ && queue_.empty();
}

void TokenWorker::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything queued has run
    std::function<void()> job = std::move(queue_.front());
    queue_.pop_front();
    running_ = true;
    lock.unlock();
    try {
      job();
    } catch (const std::exception& e) {
      // Jobs report their own failures; one that escapes must not end the thread.
      std::fprintf(stderr, "certkeyd: token job failed: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "certkeyd: token job failed\n");
    }
    job = nullptr;
    lock.lock();
    running_ = false;
  }
}

}  // namespace certkey::daemon
