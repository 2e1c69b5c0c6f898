// PIN operations through certkeyd (docs/daemon.md, "PINs"; docs/unlock.md), on each medium:
// changePin, unblockPin with the PUK, and remote unlock through the help desk. Every secret
// comes from the trusted prompt (tests/harness/scripted-pinentry, answered by rules on the
// prompt's description); the results are checked from outside the daemon, with pkcs11-tool
// in a fresh process and with certkey::card's TokenClient on the token's own reader (PIN
// tries, unlock tries). What the caller gets wrong (two different new PINs, a PIN of the
// wrong length, a mistyped response code) spends no try. Runs in tests/harness/with-tokens
// --media usbkey,sim,sdkey.
#include <certkey/card/error.hpp>
#include <certkey/card/token_client.hpp>
#include <certkey/card/unlock.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <functional>
#include <regex>

#include "daemon_renewal_fixture.hpp"
#include "helpdesk/unlock_responder.hpp"
#include "softhsm_token.hpp"

namespace certkey::test {
namespace {

const card::Bytes kDefaultManagementKey = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                                           5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
const card::Bytes kMasterKey(32, 0x5A);  // the CA's master key (docs/unlock.md section 3)
constexpr std::uint8_t kUnlockLimit = 3;
constexpr char kPin[] = "123456";
constexpr char kPuk[] = "12345678";
constexpr char kNewPin[] = "24681357";

// The prompt rules (scripted-pinentry: "TEXT<TAB>ACTION", first match wins), matched against
// the descriptions of daemon/src/workflows/pin_prompt.cpp.
std::string rules(const std::string& pin, const std::string& first, const std::string& again,
                  const std::string& puk = kPuk) {
  return "asks for the PIN\tpin:" + pin + "\nasks for the PUK\tpin:" + puk +
         "\nchoose a new PIN\tpin:" + first + "\nenter the new PIN\tpin:" + again;
}

// The medium as the prompt names it.
std::string medium_text(const std::string& medium) {
  if (medium == "usbkey") return "USB KEY";
  if (medium == "sdkey") return "SD KEY";
  return "SIM";
}

class PinFixture : public RenewalFixture {
 protected:
  void prepare_pin(const std::string& medium) {
    medium_ = medium;
    prepare(medium);
  }

  std::string module_path() const {
    return build_dir() + "/pkcs11-module/src/libcertkey-pkcs11.so";
  }
  std::string reader() const { return "certkey " + token_name_ + " 00 00"; }

  // Runs `use` on the token's reader, in this process but outside the daemon: PIV selected
  // (on a SIM, on a logical channel of its own, given back afterwards), in one transaction.
  template <typename Use>
  auto on_token(Use&& use) {
    card::Connection connection(reader());
    card::Connection::Transaction transaction(connection);
    card::TokenClient client(connection);
    const bool sim = medium_ == "sim";
    if (sim) client.open_logical_channel();
    client.select_piv();
    struct Close {
      card::TokenClient& client;
      bool sim;
      ~Close() {
        if (!sim) return;
        try {
          client.close_logical_channel();
        } catch (const card::Error&) {
        }
      }
    } close{client, sim};
    return use(client);
  }

  int pin_tries_left() {
    return on_token([](card::TokenClient& c) {
      const card::TokenInfo info = c.token_info();
      return info.pin ? info.pin->remaining : c.pin_state(protocol::KeyRef::pin).remaining;
    });
  }
  int pin_limit() {
    return on_token([](card::TokenClient& c) {
      const card::TokenInfo info = c.token_info();
      return info.pin ? info.pin->limit : c.pin_state(protocol::KeyRef::pin).limit;
    });
  }
  int puk_tries_left() {
    return on_token([](card::TokenClient& c) {
      const card::TokenInfo info = c.token_info();
      return info.puk ? info.puk->remaining : c.pin_state(protocol::KeyRef::puk).remaining;
    });
  }
  // The unlock key's tries left; -1 when the token has no unlock key.
  int unlock_tries_left() {
    return on_token([](card::TokenClient& c) {
      const card::TokenInfo info = c.token_info();
      return info.unlock_retries ? info.unlock_retries->second : -1;
    });
  }

  // Issuance's part (docs/unlock.md section 2, step 1): the derived unlock key, written with
  // the management key.
  void set_unlock_key() {
    on_token([&](card::TokenClient& c) {
      c.authenticate_management(kDefaultManagementKey, protocol::Algorithm::tdes);
      c.set_unlock_key(card::unlock::derive_unlock_key(kMasterKey, serial_), kUnlockLimit);
    });
  }

  // The help desk's part: only the serial and the code the holder reads out.
  std::string help_desk_answer(const std::string& challenge_code) const {
    const card::unlock::Code challenge = card::unlock::decode(challenge_code);
    return card::unlock::encode(card::unlock::compute_response(
        card::unlock::derive_unlock_key(kMasterKey, serial_), serial_, challenge));
  }

  // A fresh pkcs11-tool process logs in with `pin`.
  bool logs_in_with(const std::string& pin) const {
    return shell("pkcs11-tool --module " + module_path() + " --token-label 'certkey " +
                 std::to_string(serial_) + "' --login --pin " + pin +
                 " --list-objects >/dev/null 2>&1") == 0;
  }

  // Wrong PINs from pkcs11-tool until the token blocks the PIN.
  void block_pin() {
    const int limit = pin_limit();
    ASSERT_GT(limit, 0);
    for (int i = 0; i < limit; ++i) EXPECT_FALSE(logs_in_with("00000000"));
    ASSERT_EQ(pin_tries_left(), 0) << "the PIN is blocked";
    ASSERT_FALSE(logs_in_with(kPin));
  }

  HttpResponse post(const std::string& path, const json& body) {
    Http http(daemon_->port);
    return http.post(path, body);
  }

  json token_body() const { return {{"token", serial_}}; }

  // The prompt's description as scripted-pinentry logs it (SETDESC, Assuan-escaped).
  bool prompted(const std::string& text) const {
    return daemon_->prompts().find(text) != std::string::npos;
  }
  std::string who() const { return std::string("The web site ") + kPortal; }

  std::string medium_;
};

// ---------------------------------------------------------------------------------------
// changePin

class ChangePin : public PinFixture, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override { prepare_pin(GetParam()); }
};

TEST_P(ChangePin, OldPinThenNewTwice_ChangesThePin) {
  options_.answers = rules(kPin, kNewPin, kNewPin);
  start_daemon();
  const HttpResponse r = post("/v1/pin/change", token_body());
  ASSERT_EQ(r.status, 200u) << r.body << daemon_->log();
  EXPECT_EQ(r.body_json(), json({{"token", serial_}}));
  EXPECT_TRUE(conforms("/v1/pin/change", "post", r.status, r.body_json()));

  // The three prompts named the origin, the token's medium and what each asked for.
  const std::string medium = medium_text(medium_);
  EXPECT_TRUE(
      prompted("SETDESC " + who() + " asks for the PIN of your " + medium + " to change its PIN."))
      << daemon_->prompts();
  EXPECT_TRUE(prompted("SETDESC " + who() +
                       " asks you to choose a new PIN (6 to 8 characters) for your " + medium +
                       " to change its PIN."))
      << daemon_->prompts();
  EXPECT_TRUE(prompted("SETDESC " + who() + " asks you to enter the new PIN for your " + medium +
                       " again, to change its PIN."))
      << daemon_->prompts();
  EXPECT_TRUE(prompted("(" + std::to_string(serial_) + ")")) << "the prompt names the token";

  // A fresh process: the new PIN logs in, the old one does not.
  EXPECT_TRUE(logs_in_with(kNewPin));
  EXPECT_FALSE(logs_in_with(kPin));
  EXPECT_EQ(daemon_->audit().back(),
            "changePin " + std::string(kPortal) + " ok " + std::to_string(serial_));
}

TEST_P(ChangePin, TwoDifferentNewPins_AreRefused_ThePinIsUnchangedAndNoTryIsSpent) {
  options_.answers = rules(kPin, kNewPin, "13572468");
  start_daemon();
  const int full = pin_tries_left();
  const HttpResponse r = post("/v1/pin/change", token_body());
  EXPECT_EQ(r.status, 422u) << r.body;
  EXPECT_EQ(r.error_code(), "new_pin_mismatch") << r.body;
  EXPECT_TRUE(conforms("/v1/pin/change", "post", r.status, r.body_json()));
  EXPECT_EQ(pin_tries_left(), full) << "no try spent";
  EXPECT_TRUE(logs_in_with(kPin));
  EXPECT_FALSE(logs_in_with(kNewPin));
  EXPECT_FALSE(logs_in_with("13572468"));
}

TEST_P(ChangePin, NewPinOfFourCharacters_IsRefusedBeforeItIsAskedAgain) {
  options_.answers = rules(kPin, "1234", "1234");
  start_daemon();
  const int full = pin_tries_left();
  const HttpResponse r = post("/v1/pin/change", token_body());
  EXPECT_EQ(r.status, 422u) << r.body;
  EXPECT_EQ(r.error_code(), "new_pin_invalid") << r.body;
  EXPECT_TRUE(conforms("/v1/pin/change", "post", r.status, r.body_json()));
  EXPECT_FALSE(prompted("enter the new PIN")) << daemon_->prompts();
  EXPECT_EQ(pin_tries_left(), full);
  EXPECT_TRUE(logs_in_with(kPin));
}

TEST_P(ChangePin, WrongOldPin_IsPinIncorrect_OneTrySpent_AndNoNewPinIsAsked) {
  options_.answers = rules("654321", kNewPin, kNewPin);
  start_daemon();
  const int full = pin_tries_left();
  const HttpResponse r = post("/v1/pin/change", token_body());
  EXPECT_EQ(r.status, 409u) << r.body;
  EXPECT_EQ(r.error_code(), "pin_incorrect") << r.body;
  EXPECT_TRUE(conforms("/v1/pin/change", "post", r.status, r.body_json()));
  EXPECT_EQ(pin_tries_left(), full - 1) << "one try spent";
  EXPECT_FALSE(prompted("choose a new PIN")) << daemon_->prompts();
  EXPECT_TRUE(logs_in_with(kPin));
}

INSTANTIATE_TEST_SUITE_P(Media, ChangePin, ::testing::Values("usbkey", "sim", "sdkey"));

// ---------------------------------------------------------------------------------------
// unblockPin

class UnblockPin : public PinFixture, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override { prepare_pin(GetParam()); }
};

TEST_P(UnblockPin, BlockedPin_PukAndNewPinTwice_SetTheNewPin) {
  ASSERT_NO_FATAL_FAILURE(block_pin());
  options_.answers = rules(kPin, kNewPin, kNewPin);
  start_daemon();
  const HttpResponse r = post("/v1/pin/unblock", token_body());
  ASSERT_EQ(r.status, 200u) << r.body << daemon_->log();
  EXPECT_TRUE(conforms("/v1/pin/unblock", "post", r.status, r.body_json()));
  const std::string medium = medium_text(medium_);
  EXPECT_TRUE(prompted("SETDESC " + who() + " asks for the PUK of your " + medium +
                       " to unblock its PIN and set a new one."))
      << daemon_->prompts();
  EXPECT_TRUE(prompted("choose a new PIN")) << daemon_->prompts();
  EXPECT_TRUE(prompted("enter the new PIN")) << daemon_->prompts();
  EXPECT_FALSE(prompted("asks for the PIN")) << "no PIN is asked";
  EXPECT_EQ(pin_tries_left(), pin_limit()) << "the PIN tries are full again";
  EXPECT_TRUE(logs_in_with(kNewPin));
}

TEST_P(UnblockPin, WrongPuk_IsPukIncorrect_AndThePinStaysBlocked) {
  ASSERT_NO_FATAL_FAILURE(block_pin());
  options_.answers = rules(kPin, kNewPin, kNewPin, "87654321");
  start_daemon();
  const int puk_full = puk_tries_left();
  const HttpResponse r = post("/v1/pin/unblock", token_body());
  EXPECT_EQ(r.status, 409u) << r.body;
  EXPECT_EQ(r.error_code(), "puk_incorrect") << r.body;
  EXPECT_TRUE(conforms("/v1/pin/unblock", "post", r.status, r.body_json()));
  EXPECT_FALSE(prompted("choose a new PIN")) << daemon_->prompts();
  EXPECT_EQ(puk_tries_left(), puk_full - 1);
  EXPECT_EQ(pin_tries_left(), 0);
  EXPECT_FALSE(logs_in_with(kNewPin));
}

INSTANTIATE_TEST_SUITE_P(Media, UnblockPin, ::testing::Values("usbkey", "sim", "sdkey"));

// ---------------------------------------------------------------------------------------
// Remote unlock

class RemoteUnlock : public PinFixture, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    prepare_pin(GetParam());
    ASSERT_NO_FATAL_FAILURE(set_unlock_key());
    ASSERT_EQ(unlock_tries_left(), kUnlockLimit);
  }

  std::string begin_unlock() {
    const HttpResponse r = post("/v1/pin/remote-unlock", token_body());
    EXPECT_EQ(r.status, 200u) << r.body << daemon_->log();
    EXPECT_TRUE(conforms("/v1/pin/remote-unlock", "post", r.status, r.body_json()));
    const json body = r.body_json();
    if (r.status != 200 || !body.contains("challenge")) return {};
    EXPECT_EQ(body["token"], serial_);
    const std::string challenge = body["challenge"];
    EXPECT_TRUE(
        std::regex_match(challenge, std::regex("^[2-9A-HJ-NP-Z]{5}(-[2-9A-HJ-NP-Z]{5}){3}$")))
        << challenge;
    return challenge;
  }

  HttpResponse complete_unlock(const std::string& response) {
    return post("/v1/pin/remote-unlock/response", {{"token", serial_}, {"response", response}});
  }
};

TEST_P(RemoteUnlock, ChallengeSurvivesAnotherProgram_AndTheHelpDesksResponseSetsTheNewPin) {
  ASSERT_NO_FATAL_FAILURE(block_pin());
  options_.answers = rules(kPin, kNewPin, kNewPin);
  start_daemon();
  const std::string challenge = begin_unlock();
  ASSERT_FALSE(challenge.empty());

  // While the holder is on the phone, another program uses the token: OpenSC's module, in a
  // process of its own, selects its PIV driver's application on the token's basic channel (on
  // a SIM, the USIM's) and leaves the card powered. The challenge outlives that
  // (docs/unlock.md section 6).
  const std::string listed =
      shell_output("pkcs11-tool --module /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so -L 2>&1");
  const std::size_t slot = listed.find(reader());
  ASSERT_NE(slot, std::string::npos) << listed;
  EXPECT_NE(
      listed.substr(slot, listed.find("\nSlot ", slot) - slot).find("token manufacturer : piv_II"),
      std::string::npos)
      << "OpenSC found the token: " << listed;

  const HttpResponse r = complete_unlock(help_desk_answer(challenge));
  ASSERT_EQ(r.status, 200u) << r.body << daemon_->log();
  EXPECT_TRUE(conforms("/v1/pin/remote-unlock/response", "post", r.status, r.body_json()));
  EXPECT_TRUE(
      prompted("SETDESC " + who() + " asks you to choose a new PIN (6 to 8 characters) for your " +
               medium_text(medium_) + " to set a new PIN with the help desk's response code."))
      << daemon_->prompts();
  EXPECT_FALSE(prompted("asks for the PIN")) << "no PIN is asked";
  EXPECT_FALSE(prompted("asks for the PUK")) << "no PUK is asked";

  EXPECT_TRUE(logs_in_with(kNewPin));
  EXPECT_EQ(pin_tries_left(), pin_limit());
  EXPECT_EQ(unlock_tries_left(), kUnlockLimit) << "the unlock counter is restored";
}

TEST_P(RemoteUnlock, MistypedCode_SpendsNoTry_WrongResponse_SpendsOne_AndASpentChallengeIsGone) {
  options_.answers = rules(kPin, kNewPin, kNewPin);
  start_daemon();

  // No challenge pending yet.
  const card::unlock::Code zeros{};
  HttpResponse r = complete_unlock(card::unlock::encode(zeros));
  EXPECT_EQ(r.status, 409u) << r.body;
  EXPECT_EQ(r.error_code(), "no_unlock_challenge") << r.body;
  EXPECT_TRUE(conforms("/v1/pin/remote-unlock/response", "post", r.status, r.body_json()));

  const std::string challenge = begin_unlock();
  ASSERT_FALSE(challenge.empty());
  const std::string right = help_desk_answer(challenge);

  // One character read wrongly: its group's check symbol fails. Nothing reaches the token,
  // and no prompt is shown.
  std::string mistyped = right;
  const std::string alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
  mistyped[6] = alphabet[(alphabet.find(mistyped[6]) + 1) % alphabet.size()];
  const std::string prompts_before = daemon_->prompts();
  r = complete_unlock(mistyped);
  EXPECT_EQ(r.status, 422u) << r.body;
  EXPECT_EQ(r.error_code(), "unlock_code_invalid") << r.body;
  EXPECT_NE(r.body_json()["error"].value("detail", "").find("group 2"), std::string::npos)
      << r.body;
  EXPECT_TRUE(conforms("/v1/pin/remote-unlock/response", "post", r.status, r.body_json()));
  EXPECT_EQ(daemon_->prompts(), prompts_before) << "no new PIN is asked for a mistyped code";
  EXPECT_EQ(unlock_tries_left(), kUnlockLimit) << "no try spent";

  // Read correctly, the same challenge is still there. A response to another challenge is
  // well formed but wrong: it spends one try, and the challenge with it.
  card::unlock::Code wrong = card::unlock::decode(right);
  wrong[0] ^= 0x01;
  r = complete_unlock(card::unlock::encode(wrong));
  EXPECT_EQ(r.status, 409u) << r.body;
  EXPECT_EQ(r.error_code(), "unlock_response_incorrect") << r.body;
  EXPECT_TRUE(conforms("/v1/pin/remote-unlock/response", "post", r.status, r.body_json()));
  EXPECT_EQ(unlock_tries_left(), kUnlockLimit - 1) << "one try spent";

  r = complete_unlock(right);
  EXPECT_EQ(r.status, 409u) << r.body;
  EXPECT_EQ(r.error_code(), "no_unlock_challenge") << r.body;
  EXPECT_EQ(unlock_tries_left(), kUnlockLimit - 1);
  EXPECT_TRUE(logs_in_with(kPin)) << "the PIN is unchanged";
  EXPECT_FALSE(logs_in_with(kNewPin));
}

INSTANTIATE_TEST_SUITE_P(Media, RemoteUnlock, ::testing::Values("usbkey", "sim", "sdkey"));

// A program that resets the token ends the challenge with the token's power (docs/unlock.md
// section 6): yubico-piv-tool 2.2.0 disconnects with SCARD_RESET_CARD. The daemon then says
// so (no_unlock_challenge, no try spent) and a new challenge works. yubico-piv-tool cannot
// open the SIM (it asks for T=1; a SIM speaks T=0), so this runs on the USB KEY and SD KEY.
using RemoteUnlockAfterReset = RemoteUnlock;

TEST_P(RemoteUnlockAfterReset, AResetEndsTheChallenge_TheDaemonSaysSo_AndANewChallengeWorks) {
  ASSERT_NO_FATAL_FAILURE(block_pin());
  options_.answers = rules(kPin, kNewPin, kNewPin);
  start_daemon();
  const std::string lost = begin_unlock();
  ASSERT_FALSE(lost.empty());
  EXPECT_EQ(shell("yubico-piv-tool -r " + quoted(reader()) + " -a status >/dev/null 2>&1"), 0);
  HttpResponse r = complete_unlock(help_desk_answer(lost));
  EXPECT_EQ(r.status, 409u) << r.body;
  EXPECT_EQ(r.error_code(), "no_unlock_challenge") << r.body << daemon_->log();
  EXPECT_EQ(unlock_tries_left(), kUnlockLimit) << "no try spent";

  const std::string challenge = begin_unlock();
  ASSERT_FALSE(challenge.empty());
  r = complete_unlock(help_desk_answer(challenge));
  ASSERT_EQ(r.status, 200u) << r.body << daemon_->log();
  EXPECT_TRUE(logs_in_with(kNewPin));
}

INSTANTIATE_TEST_SUITE_P(Media, RemoteUnlockAfterReset, ::testing::Values("usbkey", "sdkey"));

// ---------------------------------------------------------------------------------------
// The same through certkey, the desk user's command (docs/cli.md): the CLI names the token
// with --token (three are plugged in here), shows the challenge in spoken groups and takes the
// response from its input; every secret comes from the daemon's prompt, never from argv.

class CliPin : public RemoteUnlock {
 protected:
  // certkey ARGS on this test's token.
  CliRun certkey(const std::string& args) {
    return run_certkey(daemon_->runtime_dir, "--token " + std::to_string(serial_) + " " + args);
  }

  // certkey unlock, answering its challenge with what `answer` makes of the right response
  // (lines, each ending in a newline), which the help desk computes from the challenge.
  CliRun unlock_answering(const std::function<std::string(const std::string&)>& answer) {
    return unlock_answering(
        answer, [this](const std::string& challenge) { return help_desk_answer(challenge); });
  }
  CliRun unlock_answering(const std::function<std::string(const std::string&)>& answer,
                          const std::function<std::string(const std::string&)>& help_desk) {
    int in[2], out[2];
    EXPECT_EQ(::pipe(in), 0);
    EXPECT_EQ(::pipe(out), 0);
    const pid_t child = ::fork();
    if (child == 0) {
      ::dup2(in[0], STDIN_FILENO);
      ::dup2(out[1], STDOUT_FILENO);
      ::close(in[1]);
      ::close(out[0]);
      ::setenv("LANG", "C.UTF-8", 1);
      ::setenv("XDG_RUNTIME_DIR", daemon_->runtime_dir.c_str(), 1);
      const std::string program = build_dir() + "/daemon/certkey", serial = std::to_string(serial_);
      ::execl(program.c_str(), program.c_str(), "--token", serial.c_str(), "unlock",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    CliRun r;
    FILE* lines = ::fdopen(out[0], "r");
    char line[512];
    std::string challenge;
    while (challenge.empty() && std::fgets(line, sizeof line, lines)) {
      r.out += line;
      if (std::regex_match(line, std::regex("^    [2-9A-HJ-NP-Z]{5}( [2-9A-HJ-NP-Z]{5}){3}\n$"))) {
        challenge = std::regex_replace(std::string(line).substr(4, 23), std::regex(" "), "-");
      }
    }
    EXPECT_FALSE(challenge.empty()) << r.out;
    const std::string typed = answer(help_desk(challenge));
    EXPECT_EQ(::write(in[1], typed.data(), typed.size()), static_cast<ssize_t>(typed.size()));
    ::close(in[1]);
    while (std::fgets(line, sizeof line, lines)) r.out += line;
    std::fclose(lines);
    int status = 0;
    ::waitpid(child, &status, 0);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
  }
};

TEST_P(CliPin, ChangePin_TheDaemonsPromptAsksOldThenNewTwice) {
  options_.answers = rules(kPin, kNewPin, kNewPin);
  start_daemon();
  const CliRun r = certkey("change-pin");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("The PIN is changed."), std::string::npos) << r.out;
  EXPECT_TRUE(prompted("choose a new PIN")) << daemon_->prompts();
  EXPECT_TRUE(logs_in_with(kNewPin));
}

TEST_P(CliPin, Unblock_WithThePukThroughThePrompt) {
  ASSERT_NO_FATAL_FAILURE(block_pin());
  options_.answers = rules(kPin, kNewPin, kNewPin);
  start_daemon();
  const CliRun r = certkey("unblock");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(prompted("asks for the PUK")) << daemon_->prompts();
  EXPECT_TRUE(logs_in_with(kNewPin));
}

std::string mistyped(std::string right) {
  const std::string alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
  right[6] = alphabet[(alphabet.find(right[6]) + 1) % alphabet.size()];
  return right;
}

// As a person types what they hear: lower case, spaces for dashes.
std::string typed_loosely(std::string code) {
  for (char& c : code)
    c = c == '-' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return code;
}

TEST_P(CliPin, Unlock_AMistypedResponseIsTypedAgain_NoTrySpent_TheRightOneSetsTheNewPin) {
  ASSERT_NO_FATAL_FAILURE(block_pin());
  options_.answers = rules(kPin, kNewPin, kNewPin);
  start_daemon();

  // A mistyped code, then the end of input: refused, nothing asked, no try spent.
  const CliRun gave_up =
      unlock_answering([](const std::string& right) { return mistyped(right) + "\n"; });
  EXPECT_EQ(gave_up.status, 4) << gave_up.out;
  EXPECT_NE(gave_up.out.find("Type the response code again:"), std::string::npos) << gave_up.out;
  EXPECT_EQ(unlock_tries_left(), kUnlockLimit) << "a mistyped code reaches no token";
  EXPECT_EQ(pin_tries_left(), 0);
  EXPECT_FALSE(prompted("choose a new PIN")) << daemon_->prompts();

  // A mistyped code, then the right one typed loosely, in one run on one challenge.
  const CliRun right = unlock_answering([](const std::string& right) {
    return mistyped(right) + "\n" + typed_loosely(right) + "\n";
  });
  EXPECT_EQ(right.status, 0) << right.out << daemon_->log();
  EXPECT_NE(right.out.find("Read this challenge to the help desk:"), std::string::npos)
      << right.out;
  EXPECT_NE(right.out.find("The PIN is unblocked and set to the new one."), std::string::npos)
      << right.out;
  EXPECT_TRUE(logs_in_with(kNewPin));
  EXPECT_EQ(unlock_tries_left(), kUnlockLimit);
}

INSTANTIATE_TEST_SUITE_P(Media, CliPin, ::testing::Values("usbkey"));

// ---------------------------------------------------------------------------------------
// The whole remote unlock as the help desk and the holder do it (docs/unlock.md section 8):
// the master key made in an HSM (SoftHSM2) by `certkey helpdesk provision`, the token's
// unlock key derived there at issuance, and the response given by `certkey helpdesk respond`
// from the serial and the challenge that `certkey unlock` shows.

class CliHelpdesk : public CliPin {
 protected:
  void SetUp() override {
    prepare_pin(GetParam());
    const CliRun provisioned = helpdesk("provision");
    ASSERT_EQ(provisioned.status, 0) << provisioned.out << provisioned.err;
    ASSERT_NO_FATAL_FAILURE(personalise_from_hsm());
    ASSERT_EQ(unlock_tries_left(), kUnlockLimit);
  }

  CliRun helpdesk(const std::string& args) {
    return run_certkey(daemon_ ? daemon_->runtime_dir : dir_,
                       "helpdesk " + SoftHsmToken::cli_options() + " " + args, "C.UTF-8",
                       std::string(SoftHsmToken::kPin) + "\n");
  }

  // Issuance: the HSM derives the token's unlock key, and the personalisation station writes
  // it with the management key.
  void personalise_from_hsm() {
    card::Bytes unlock_key;
    {
      helpdesk::UnlockResponder hsm({SoftHsmToken::kModule, SoftHsmToken::kLabel},
                                    SoftHsmToken::kPin);
      unlock_key = hsm.issuance_key(serial_);
    }
    on_token([&](card::TokenClient& c) {
      c.authenticate_management(kDefaultManagementKey, protocol::Algorithm::tdes);
      c.set_unlock_key(unlock_key, kUnlockLimit);
    });
  }

  // certkey helpdesk respond: the response code as it prints it, dashed again.
  std::string respond(const std::string& challenge) {
    const CliRun r = helpdesk("respond --ticket HD-4711 --audit " + audit_path() + " " +
                              std::to_string(serial_) + " " + challenge);
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    std::smatch code;
    if (!std::regex_search(r.out, code,
                           std::regex("\n    ([2-9A-HJ-NP-Z]{5}( [2-9A-HJ-NP-Z]{5}){3})\n")))
      return {};
    return std::regex_replace(code[1].str(), std::regex(" "), "-");
  }

  std::string audit_path() const { return hsm_.dir + "/helpdesk-audit.jsonl"; }

  SoftHsmToken hsm_;
};

TEST_P(CliHelpdesk,
       BlockedPin_HelpdeskRespondsFromTheHsm_TypoRefusedFree_RightCodeUnlocks_TokenSignsAgain) {
  ASSERT_NO_FATAL_FAILURE(block_pin());
  options_.answers = rules(kPin, kNewPin, kNewPin);
  start_daemon();

  const CliRun r = unlock_answering(
      [](const std::string& right) { return mistyped(right) + "\n" + typed_loosely(right) + "\n"; },
      [this](const std::string& challenge) { return respond(challenge); });
  EXPECT_EQ(r.status, 0) << r.out << daemon_->log();
  EXPECT_NE(r.out.find("Type the response code again:"), std::string::npos)
      << "the typo was refused: " << r.out;
  EXPECT_NE(r.out.find("The PIN is unblocked and set to the new one."), std::string::npos) << r.out;
  EXPECT_EQ(unlock_tries_left(), kUnlockLimit) << "the typo spent no try";
  EXPECT_TRUE(prompted("choose a new PIN")) << daemon_->prompts();
  EXPECT_TRUE(signs_with("01", old_pem_, kNewPin));

  const json audit = json::parse(read_file(audit_path()));
  EXPECT_EQ(audit["ticket"], "HD-4711");
  EXPECT_EQ(audit["serial"], serial_);
}

INSTANTIATE_TEST_SUITE_P(Media, CliHelpdesk, ::testing::Values("usbkey", "sim"));

}  // namespace
}  // namespace certkey::test
