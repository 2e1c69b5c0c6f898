// changePin, unblockPin, beginRemoteUnlock, completeRemoteUnlock (docs/daemon.md, "PINs").
// Every secret is asked in the trusted prompt; the only code that crosses the API is the
// help desk's response, which is no secret once used (docs/unlock.md).
#include "../core/args.hpp"
#include "../workflows/pin_management.hpp"
#include "handlers.hpp"

namespace certkey::daemon {
namespace {

constexpr std::size_t kMaxCode = 64;  // 24 characters with dashes, and room for spaces

// A command on one token that runs `Operation` and answers with the token's serial.
template <void (*Operation)(TokenWork&)>
class TokenPinCommand : public Command {
 public:
  explicit TokenPinCommand(std::uint32_t serial) : serial_(serial) {}
  std::optional<std::uint32_t> token(Services&, const Caller&) const override { return serial_; }
  CommandResult run(CommandContext& context) override {
    Operation(*context.work);
    return json_result({{"token", serial_}});
  }

 private:
  std::uint32_t serial_;
};

class BeginRemoteUnlock : public Command {
 public:
  explicit BeginRemoteUnlock(std::uint32_t serial) : serial_(serial) {}
  std::optional<std::uint32_t> token(Services&, const Caller&) const override { return serial_; }
  CommandResult run(CommandContext& context) override {
    return json_result({{"token", serial_}, {"challenge", begin_remote_unlock(*context.work)}});
  }

 private:
  std::uint32_t serial_;
};

class CompleteRemoteUnlock : public Command {
 public:
  CompleteRemoteUnlock(std::uint32_t serial, std::string response)
      : serial_(serial), response_(std::move(response)) {}
  std::optional<std::uint32_t> token(Services&, const Caller&) const override { return serial_; }
  CommandResult run(CommandContext& context) override {
    complete_remote_unlock(*context.work, response_);
    return json_result({{"token", serial_}});
  }

 private:
  std::uint32_t serial_;
  std::string response_;
};

std::uint32_t token_only(const nlohmann::json& args) {
  expect_members(args, {"token"});
  return serial_arg(args, "token");
}

}  // namespace

std::unique_ptr<Command> parse_change_pin(const nlohmann::json& args) {
  return std::make_unique<TokenPinCommand<change_pin>>(token_only(args));
}

std::unique_ptr<Command> parse_unblock_pin(const nlohmann::json& args) {
  return std::make_unique<TokenPinCommand<unblock_pin>>(token_only(args));
}

std::unique_ptr<Command> parse_begin_remote_unlock(const nlohmann::json& args) {
  return std::make_unique<BeginRemoteUnlock>(token_only(args));
}

std::unique_ptr<Command> parse_complete_remote_unlock(const nlohmann::json& args) {
  expect_members(args, {"token", "response"});
  return std::make_unique<CompleteRemoteUnlock>(serial_arg(args, "token"),
                                                string_arg(args, "response", kMaxCode));
}

}  // namespace certkey::daemon
