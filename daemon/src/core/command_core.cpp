#include "command_core.hpp"

#include <openssl/crypto.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <future>
#include <utility>

#include "../config/config.hpp"
#include "../state/audit_log.hpp"
#include "../tokens/token_registry.hpp"
#include "../workflows/token_work.hpp"

namespace certkey::daemon {
namespace asio = boost::asio;

namespace {

constexpr std::size_t kMaxPin = 16;  // the token takes 6-8 characters; longer is refused here
constexpr std::chrono::milliseconds kRevalidationWait{250};
constexpr std::chrono::seconds kBackgroundRevalidationWait{2};

CommandReply reply_of(const CommandResult& result) {
  CommandReply reply;
  reply.status = result.status;
  reply.body = result.body;
  reply.subscribe = result.subscribe;
  return reply;
}

// Runs `call`; any exception becomes an error reply (internal_error for the unexpected).
template <typename Call>
CommandReply guarded(Call&& call) {
  try {
    return call();
  } catch (const ApiError& e) {
    return CommandReply::failure(e.code(), e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "certkeyd: command failed: %s\n", e.what());
    return CommandReply::failure(ErrorCode::internal_error);
  } catch (...) {
    return CommandReply::failure(ErrorCode::internal_error);
  }
}

// Takes "pin" out of the arguments, for an origin configured for legacy mode only; the JSON
// copy is wiped. Everyone else is refused: certkey asks for PINs itself.
std::optional<pinentry::Secret> take_legacy_pin(const Config& config, CommandRequest& request) {
  if (!request.args.is_object() || !request.args.contains("pin")) return std::nullopt;
  nlohmann::json& value = request.args["pin"];
  std::optional<pinentry::Secret> pin;
  std::size_t length = 0;
  if (value.is_string()) {
    std::string& text = value.get_ref<std::string&>();
    length = text.size();
    if (length <= kMaxPin) pin.emplace(text);
    OPENSSL_cleanse(text.data(), text.size());
  }
  request.args.erase("pin");
  if (!request.caller.origin || !config.accepts_pin_from(*request.caller.origin)) {
    throw ApiError(ErrorCode::pin_not_accepted);
  }
  if (!pin) throw ApiError(ErrorCode::bad_request, "\"pin\" is a string of at most 16 bytes");
  return pin;
}

}  // namespace

struct CommandCore::Job {
  const CommandSpec* spec = nullptr;
  std::unique_ptr<Command> command;
  Caller caller;
  std::uint32_t serial = 0;
  std::optional<pinentry::Secret> pin;  // legacy mode only
  ReplyHandler done;
  pinentry::Deadline deadline;
  pinentry::Cancellation cancellation;  // deadline or shutdown: ends a prompt in progress
  std::atomic<bool> started{false};
  std::atomic<bool> timed_out{false};  // its deadline passed (the cancellation says why)
  bool replied = false;                // network thread only
  std::unique_ptr<asio::steady_timer> timer;
};

CommandCore::CommandCore(asio::io_context& io, Services& services)
    : io_(io), services_(services), limiter_(services.config.limits.state_changes_per_minute) {}

CommandCore::~CommandCore() = default;

void CommandCore::execute(CommandRequest request, ReplyHandler done) {
  // dispatch() hands `done` on only once nothing after it can throw.
  CommandReply refusal = guarded([&] {
    dispatch(std::move(request), done);
    return CommandReply{};
  });
  if (refusal.error) done(std::move(refusal));
}

void CommandCore::dispatch(CommandRequest request, const ReplyHandler& done) {
  // A PIN in the arguments leaves them (and is wiped there) before anything can refuse.
  std::optional<pinentry::Secret> pin = take_legacy_pin(services_.config, request);
  if (stopping_) throw ApiError(ErrorCode::daemon_stopping);
  const CommandSpec* spec = find_command(request.name);
  if (!spec)
    throw ApiError(ErrorCode::not_found, "no command \"" + request.name.substr(0, 64) + "\"");
  // Every transport checks its origin here too, so no path reaches a command without it.
  if (request.caller.origin && !services_.config.allows(*request.caller.origin)) {
    throw ApiError(ErrorCode::origin_not_allowed);
  }
  if (pin && !spec->asks_pin)
    throw ApiError(ErrorCode::bad_request, "this command asks for no PIN");
  std::unique_ptr<Command> command = spec->parse(request.args);
  if (spec->effect == Effect::change && request.caller.origin &&
      !limiter_.allow(request.caller.origin->text())) {
    throw ApiError(ErrorCode::rate_limited);
  }
  if (spec->placement == Placement::token || spec->placement == Placement::background) {
    queue(*spec, std::move(command), std::move(request.caller), std::move(pin), done);
  } else {
    run_now(*spec, std::move(command), request.caller, done);
  }
}

void CommandCore::run_now(const CommandSpec& spec, std::unique_ptr<Command> command,
                          const Caller& caller, const ReplyHandler& done) {
  auto run = [this, command = std::shared_ptr<Command>(std::move(command)), caller, done] {
    done(guarded([&] {
      CommandContext context{services_, caller};
      return reply_of(command->run(context));
    }));
  };
  if (spec.placement != Placement::snapshot) return run();
  // Stale views are revalidated first (at most once per token per second); the answer then
  // comes from the snapshot, back on the network thread. A revalidation that waits for the
  // module (another token's key generation holds its lock) holds the read back at most
  // kRevalidationWait: then the snapshot answers as it is.
  auto pending = std::make_shared<std::function<void()>>(std::move(run));
  auto fire = [pending] {
    if (*pending) std::exchange(*pending, nullptr)();
  };
  if (!services_.tokens.refresh_stale([this, fire] { asio::post(io_, fire); }))
    return fire();  // all fresh
  auto timer = std::make_shared<asio::steady_timer>(io_, kRevalidationWait);
  timer->async_wait([fire, timer](const boost::system::error_code& ec) {
    if (!ec) fire();
  });
}

void CommandCore::queue(const CommandSpec& spec, std::unique_ptr<Command> command, Caller caller,
                        std::optional<pinentry::Secret> pin, const ReplyHandler& done) {
  auto job = std::make_shared<Job>();
  job->spec = &spec;
  if (spec.placement == Placement::token)
    job->serial = command->token(services_, caller).value();  // they name one
  job->command = std::move(command);
  job->caller = std::move(caller);
  job->pin = std::move(pin);
  job->done = done;
  job->deadline = std::chrono::steady_clock::now() + services_.config.operation_deadline;
  if (spec.placement == Placement::background) {
    background_.post([this, job] { run_background(job); });
  } else if (!services_.tokens.run_on(job->serial,
                                      [this, job](CK_SLOT_ID slot) { run_job(job, slot); })) {
    throw ApiError(ErrorCode::token_not_found);
  }
  jobs_.insert(job);
  job->timer = std::make_unique<asio::steady_timer>(io_, job->deadline);
  job->timer->async_wait([job](const boost::system::error_code& ec) {
    if (ec || job->replied) return;
    // The caller hears now; the work, if it started, ends at its next step (a prompt is
    // closed) and is audited with its real result.
    job->timed_out = true;
    job->cancellation.cancel();
    job->replied = true;
    std::exchange(job->done, nullptr)(CommandReply::failure(ErrorCode::operation_timed_out));
  });
}

void CommandCore::run_job(const std::shared_ptr<Job>& job, CK_SLOT_ID slot) {
  if (job->cancellation.cancelled()) {  // timed out or stopping before it started
    const ErrorCode why =
        job->timed_out ? ErrorCode::operation_timed_out : ErrorCode::daemon_stopping;
    asio::post(io_, [this, job, why] { finish(job, CommandReply::failure(why)); });
    return;
  }
  job->started = true;
  AuditEntry audit = audit_entry_for(job->caller, std::string(job->spec->name));
  audit.token = job->serial;
  CommandReply reply = guarded([&] {
    // The command sees the token as it is now, not as the last read left it.
    services_.tokens.revalidate(slot);
    const std::shared_ptr<const TokenSnapshot> snapshot = services_.tokens.snapshot();
    const TokenState* token = snapshot->find(job->serial);
    if (!token) throw ApiError(ErrorCode::token_not_found);
    // Moved to another reader while the job was queued: this slot holds another token now.
    if (token->slot != slot)
      throw ApiError(ErrorCode::token_removed, "the token moved to another reader");
    TokenWork work{services_.tokens.module(),
                   slot,
                   *token,
                   job->caller,
                   [&](SecretKind kind, const OperationText& operation) {
                     if (kind == SecretKind::pin && job->pin) {
                       pinentry::Secret pin = std::move(*job->pin);
                       job->pin.reset();
                       return pin;
                     }
                     return services_.prompt.ask(job->caller, kind, operation, *token,
                                                 job->deadline, job->cancellation);
                   },
                   [&](const OperationText& operation) {
                     return services_.prompt.confirm(job->caller, operation, *token, job->deadline,
                                                     job->cancellation);
                   }};
    CommandContext context{services_, job->caller, &work, &audit};
    return reply_of(job->command->run(context));
  });
  job->pin.reset();
  // A prompt the deadline closed was not cancelled by the user.
  if (reply.error == ErrorCode::pin_cancelled && job->timed_out)
    reply = CommandReply::failure(ErrorCode::operation_timed_out);
  audit.result = reply.error ? std::string(error_info(*reply.error).name) : "ok";
  if (job->spec->effect == Effect::change) {
    try {
      services_.audit.record(audit);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "certkeyd: AUDIT LOG WRITE FAILED for %s: %s\n", audit.command.c_str(),
                   e.what());
    }
  }
  services_.tokens.refresh(slot);  // what the command changed shows in the next read
  asio::post(io_,
             [this, job, reply = std::move(reply)]() mutable { finish(job, std::move(reply)); });
}

void CommandCore::run_background(const std::shared_ptr<Job>& job) {
  job->started = true;
  // Background reads (the diagnosis, the certificates' status) are slow anyway and must see
  // what another program changed a moment ago: every idle token is revalidated first,
  // however fresh its view.
  auto revalidated = std::make_shared<std::promise<void>>();
  if (services_.tokens.refresh_stale([revalidated] { revalidated->set_value(); },
                                     std::chrono::seconds(0))) {
    revalidated->get_future().wait_for(kBackgroundRevalidationWait);
  }
  CommandReply reply = guarded([&] {
    CommandContext context{services_, job->caller};
    return reply_of(job->command->run(context));
  });
  asio::post(io_,
             [this, job, reply = std::move(reply)]() mutable { finish(job, std::move(reply)); });
}

void CommandCore::finish(const std::shared_ptr<Job>& job, CommandReply reply) {
  jobs_.erase(job);
  if (job->timer) job->timer->cancel();
  if (stopping_) {
    // A prompt closed by the shutdown is the shutdown's doing, not the user's.
    const bool closed = reply.error == ErrorCode::pin_cancelled && job->cancellation.cancelled();
    if (closed) reply = CommandReply::failure(ErrorCode::daemon_stopping);
    const std::string what =
        std::string(job->spec->name) +
        (job->serial ? " on token " + std::to_string(job->serial) : std::string());
    report_.push_back(
        !job->started ? what + ": cancelled before it started"
        : closed      ? what + ": cancelled (its PIN prompt was closed)"
                      : what + ": finished (" +
                       (reply.error ? std::string(error_info(*reply.error).name) : "ok") + ")");
  }
  if (!job->replied) {
    job->replied = true;
    // The handler holds the caller's session: it goes here, on the network thread.
    std::exchange(job->done, nullptr)(std::move(reply));
  }
  if (stopping_ && jobs_.empty() && on_idle_) std::exchange(on_idle_, nullptr)();
}

void CommandCore::reconcile(std::uint32_t serial, ReplyHandler done) {
  static constexpr CommandSpec kSpec{"reconcileToken", Effect::change, Placement::token, nullptr};
  if (stopping_) return;
  Caller daemon_itself;
  daemon_itself.transport = Transport::certkeyd;
  try {
    queue(kSpec, reconcile_command(serial), std::move(daemon_itself), std::nullopt,
          std::move(done));
  } catch (const ApiError&) {
    // The token went away meanwhile: its next insertion brings it back here.
  }
}

void CommandCore::begin_shutdown(std::function<void()> idle) {
  stopping_ = true;
  on_idle_ = std::move(idle);
  for (const auto& job : jobs_) job->cancellation.cancel();
  if (jobs_.empty()) std::exchange(on_idle_, nullptr)();
}

std::vector<std::string> CommandCore::shutdown_report() const {
  std::vector<std::string> report = report_;
  for (const auto& job : jobs_) {
    report.push_back(
        std::string(job->spec->name) +
        (job->serial ? " on token " + std::to_string(job->serial) : std::string()) +
        (job->started ? ": still running, abandoned" : ": queued behind it, not started"));
  }
  return report;
}

}  // namespace certkey::daemon
