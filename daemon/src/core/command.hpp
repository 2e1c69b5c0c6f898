// One command core serves every transport (DESIGN.md section 6). A transport turns what it
// received into a CommandRequest (the command's name, its JSON arguments, and the Caller it
// knows from the connection); the core validates the arguments, checks the caller, runs
// the command where it belongs, and answers with a CommandReply that the transport writes
// back in its own framing. Each command name is the operationId of its OpenAPI operation.
#pragma once
#include <certkey/pinentry/pinentry_client.hpp>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "caller.hpp"
#include "error_code.hpp"

namespace certkey::daemon {

class TokenRegistry;
class RenewalStore;
class SlotChangeStore;
class AuditLog;
class PinPrompt;
class TrustStore;
class CertificateChecker;
struct Config;
struct TokenWork;
struct AuditEntry;

struct CommandRequest {
  std::string name;
  nlohmann::json args = nlohmann::json::object();
  Caller caller;
};

struct CommandReply {
  unsigned status = 200;
  std::shared_ptr<const std::string> body;  // JSON text: the result, or {"error": {...}}
  std::optional<ErrorCode> error;
  bool subscribe = false;  // the caller now receives events (watchEvents)

  static CommandReply failure(ErrorCode code, const std::string& detail = {});
};

// What the daemon's commands work with; owned by main.
struct Services {
  const Config& config;
  TokenRegistry& tokens;
  RenewalStore& renewals;
  SlotChangeStore& slot_changes;
  AuditLog& audit;
  const PinPrompt& prompt;
  const TrustStore& trust;                 // the configured anchors and intermediates
  const CertificateChecker& certificates;  // chain and revocation status
};

struct CommandContext {
  Services& services;
  const Caller& caller;
  TokenWork* work = nullptr;    // set for commands that run on a token's worker
  AuditEntry* audit = nullptr;  // set for state-changing commands: what they touched
};

struct CommandResult {
  unsigned status = 200;
  std::shared_ptr<const std::string> body;
  bool subscribe = false;
};
CommandResult json_result(const nlohmann::json& value, unsigned status = 200);

// A command with validated arguments (built by its CommandSpec's parse, which throws
// ApiError(bad_request) on anything but the documented arguments).
class Command {
 public:
  virtual ~Command() = default;
  // The token it works on, found without touching a token (on the network thread); none
  // for commands that do not run on a token's worker. Throws ApiError.
  virtual std::optional<std::uint32_t> token(Services&, const Caller&) const {
    return std::nullopt;
  }
  // Throws ApiError.
  virtual CommandResult run(CommandContext& context) = 0;
};

enum class Effect {
  read,    // no change anywhere
  change,  // changes a token or the daemon's state: rate-limited per origin, audited
};

enum class Placement {
  network,     // on the network thread, touching no token (state database reads)
  snapshot,    // on the network thread, from the token snapshot after stale views are revalidated
  token,       // on the worker of the token the command names
  background,  // on the daemon's background worker: waits on the network (OCSP, CRL) or on
               // pcscd, never on a token's worker and never on the network thread
};

struct CommandSpec {
  std::string_view name;  // the OpenAPI operationId
  Effect effect;
  Placement placement;
  std::unique_ptr<Command> (*parse)(const nlohmann::json& args);
  // It logs in with the holder's PIN, so a legacy-mode origin's `pin` stands in for the
  // prompt. Commands that ask only for a PUK or a new PIN refuse a `pin` rather than drop it.
  bool asks_pin = false;
};

// The daemon's own housekeeping command for one token (handlers/renewals.cpp): not in the
// table, so no transport can name it.
std::unique_ptr<Command> reconcile_command(std::uint32_t serial);

// The one command table (handlers/command_table.cpp).
std::span<const CommandSpec> all_commands();
const CommandSpec* find_command(std::string_view name);

}  // namespace certkey::daemon
