// Crash sweeps of a renewal (docs/daemon.md, "Crash consistency"), on each medium: the
// daemon stops at every named step of begin, complete and cancel, either killed there (its
// fault point exits at once, as kill -9 would leave it) and started again, or paused there
// while the token is pulled and then let go on. When the token comes back, the renewal
// resumes or rolls back; no key is left orphaned, and the token always has a working
// certificate in 01. Runs in tests/harness/with-tokens --media usbkey,sim,sdkey.
#include <sys/stat.h>

#include <future>
#include <tuple>

#include "daemon_renewal_fixture.hpp"

namespace certkey::test {
namespace {

enum class Phase { begin, complete, cancel };
enum class Outcome { rolled_back, awaiting_certificate, current };

struct Step {
  const char* name;  // the fault point (daemon/src/core/fault_point.hpp)
  Phase phase;
  Outcome outcome;  // what reconciliation leaves
};

constexpr Step kSteps[] = {
    {"generating", Phase::begin, Outcome::rolled_back},
    {"generating.done", Phase::begin, Outcome::rolled_back},
    {"awaiting_certificate", Phase::begin, Outcome::awaiting_certificate},
    {"writing_certificate", Phase::complete, Outcome::current},
    {"writing_certificate.done", Phase::complete, Outcome::current},
    {"making_current", Phase::complete, Outcome::current},
    {"making_current.done", Phase::complete, Outcome::current},
    {"current", Phase::complete, Outcome::current},
    {"cancelling", Phase::cancel, Outcome::rolled_back},
    {"cancelling.done", Phase::cancel, Outcome::rolled_back},
};

// The first free retired slot, where the renewal makes its key.
constexpr char kNewSlot[] = "05";

using SweepCase = std::tuple<std::string, int, bool>;  // medium, step, pull (else kill)

class CrashSweep : public RenewalFixture, public ::testing::WithParamInterface<SweepCase> {
 protected:
  void SetUp() override { prepare(std::get<0>(GetParam())); }
  const Step& step() const { return kSteps[std::get<1>(GetParam())]; }
  bool pulling() const { return std::get<2>(GetParam()); }

  // The phases before the one under test, run normally.
  void run_earlier_phases() {
    if (step().phase == Phase::begin) return;
    start_daemon();
    const json begun = begin();
    ASSERT_EQ(begun["status"], 201) << begun.dump();
    id_ = begun["body"]["renewal"]["id"];
    renewed_ = ca_.issue(begun["body"]["renewal"]["csr"]);
    ASSERT_EQ(daemon_->terminate(), 0);
  }

  json run_phase() {
    switch (step().phase) {
      case Phase::begin: return begin();
      case Phase::complete: return complete(id_, renewed_);
      case Phase::cancel: break;
    }
    return unix_call("cancelRenewal", {{"id", id_}}, {{"origin", kPortal}});
  }

  // The phase under test, stopped at the step; returns the tokenReconciled event that the
  // token's return brings.
  json stop_at_the_step_and_come_back() {
    options_.fault_point = step().name;
    if (pulling()) {
      ::mkfifo((dir_ + "/reached").c_str(), 0600);
      ::mkfifo((dir_ + "/resume").c_str(), 0600);
      options_.fault_action = "pause:" + dir_;
    }
    start_daemon();
    std::future<json> reply = std::async(std::launch::async, [this] { return run_phase(); });
    if (pulling()) {
      EXPECT_EQ(read_line(dir_ + "/reached"), step().name);
      pull();
      write_file(dir_ + "/resume", "go on\n");
      reply.get();  // whatever the pulled token let it answer
      return insert_and_wait_for_reconciliation();
    }
    EXPECT_EQ(daemon_->wait_exit(), 86) << daemon_->log();
    reply.get();
    pull();
    restart_daemon();
    return insert_and_wait_for_reconciliation();
  }

  void expect_rolled_back() {
    EXPECT_EQ(daemon_->renewal_states(), std::vector<std::string>{});
    EXPECT_FALSE(has_key(kNewSlot)) << "no key left orphaned";
    EXPECT_EQ(certificate_in(kNewSlot), "");
    EXPECT_EQ(certificate_in("01"), der_of_pem(old_pem_));
    EXPECT_TRUE(signs_with("01", old_pem_));
  }

  void expect_current() {
    EXPECT_EQ(certificate_in("01"), der_of_pem(renewed_));
    EXPECT_TRUE(signs_with("01", renewed_));
    EXPECT_EQ(certificate_in(kNewSlot), der_of_pem(old_pem_))
        << "the superseded certificate, retired";
    const std::vector<std::string> rows = daemon_->renewal_states();
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_NE(rows.front().find(" current 01 05"), std::string::npos) << rows.front();
    EXPECT_TRUE(
        unix_call("listRenewals", json::object(), {{"origin", kPortal}})["result"]["renewals"]
            .empty());
  }

  static std::string read_line(const std::string& fifo) {
    std::ifstream in(fifo);
    std::string line;
    std::getline(in, line);
    return line;
  }

  std::string id_, renewed_;
};

TEST_P(CrashSweep, RenewalResumesOrRollsBack_AndTheTokenKeepsAWorkingCertificate) {
  run_earlier_phases();
  const json event = stop_at_the_step_and_come_back();
  ASSERT_FALSE(event.is_null()) << daemon_->log();
  EXPECT_FALSE(event["data"].contains("error")) << event.dump() << daemon_->log();
  EXPECT_TRUE(conforms_to_schema("EventMessage", event)) << event.dump();
  switch (step().outcome) {
    case Outcome::rolled_back: expect_rolled_back(); break;
    case Outcome::current: expect_current(); break;
    case Outcome::awaiting_certificate: {
      // The reply was lost; the renewal is found again, and completes.
      const json list = unix_call("listRenewals", json::object(), {{"origin", kPortal}});
      ASSERT_EQ(list["result"]["renewals"].size(), 1u) << list.dump();
      const json renewal = list["result"]["renewals"][0];
      EXPECT_EQ(renewal["state"], "awaiting_certificate");
      EXPECT_TRUE(signs_with("01", old_pem_))
          << "the old certificate works until the new one is current";
      id_ = renewal["id"];
      renewed_ = ca_.issue(renewal["csr"]);
      ASSERT_EQ(complete(id_, renewed_)["status"], 200);
      expect_current();
      break;
    }
  }
}

std::string sweep_name(const ::testing::TestParamInfo<SweepCase>& info) {
  std::string step = kSteps[std::get<1>(info.param)].name;
  for (char& c : step) {
    if (c == '.') c = '_';
  }
  return std::get<0>(info.param) + "_" + step + (std::get<2>(info.param) ? "_pulled" : "_killed");
}

INSTANTIATE_TEST_SUITE_P(
    EveryStep, CrashSweep,
    ::testing::Combine(::testing::Values("usbkey", "sim", "sdkey"),
                       ::testing::Range(0, static_cast<int>(std::size(kSteps))), ::testing::Bool()),
    sweep_name);

}  // namespace
}  // namespace certkey::test
