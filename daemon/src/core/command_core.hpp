// The command core (DESIGN.md section 6): every transport hands it (command, arguments,
// caller) and gets exactly one reply, on the network thread. In order, it checks the
// caller's origin against the allowlist, takes a PIN from the arguments only for origins
// configured for legacy mode, validates the arguments, applies the per-origin rate limit to
// state-changing commands, and runs the command where its placement says. Token commands
// get a deadline (the PIN prompt's included), are audited with their result, and refresh
// their token's view before the reply goes out. No exception escapes a command.
#pragma once
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "../tokens/token_worker.hpp"
#include "command.hpp"
#include "rate_limiter.hpp"

namespace certkey::daemon {

using ReplyHandler = std::function<void(CommandReply)>;

class CommandCore {
 public:
  CommandCore(boost::asio::io_context& io, Services& services);
  ~CommandCore();

  // Call on the network thread; `done` is called once, on the network thread.
  void execute(CommandRequest request, ReplyHandler done);

  // Queues the daemon's own housekeeping on a token (handlers/reconcile.cpp, "reconcileToken"
  // in the audit log): on the token's worker like any token command, with its deadline,
  // audit and PIN prompt. Call on the network thread.
  // `done` gets its reply (on the network thread), unless the token went away first.
  void reconcile(std::uint32_t serial, ReplyHandler done);

  // SIGTERM: new commands are refused, PIN prompts end, queued token work is not started.
  // `idle` is called (on the network thread) once no token command is in flight.
  void begin_shutdown(std::function<void()> idle);
  // What happened to the token commands during the shutdown, and what is still running.
  std::vector<std::string> shutdown_report() const;
  bool idle() const { return jobs_.empty(); }

 private:
  struct Job;
  void dispatch(CommandRequest request, const ReplyHandler& done);
  void run_now(const CommandSpec& spec, std::unique_ptr<Command> command, const Caller& caller,
               const ReplyHandler& done);
  void queue(const CommandSpec& spec, std::unique_ptr<Command> command, Caller caller,
             std::optional<pinentry::Secret> pin, const ReplyHandler& done);
  void run_job(const std::shared_ptr<Job>& job, unsigned long slot);
  void run_background(const std::shared_ptr<Job>& job);
  void finish(const std::shared_ptr<Job>& job, CommandReply reply);

  boost::asio::io_context& io_;
  Services& services_;
  RateLimiter limiter_;
  std::set<std::shared_ptr<Job>> jobs_;  // token commands in flight (network thread only)
  bool stopping_ = false;
  std::function<void()> on_idle_;
  std::vector<std::string> report_;
  TokenWorker background_;  // last: its destructor runs what is queued, which uses the above
};

}  // namespace certkey::daemon
