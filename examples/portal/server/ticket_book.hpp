// Help-desk tickets for the portal's automatic remote unlock (DESIGN.md section 7): the help
// desk issues one after it has checked the caller's identity; it is bound to one token's
// serial, valid for a short time, and good for one unlock. Without one, anyone holding a
// stolen token could give it a new PIN through the portal.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace certkey::portal {

using Clock = std::chrono::system_clock;

class TicketBook {
 public:
  enum class Outcome { accepted, missing, invalid, used, expired, wrong_token };

  explicit TicketBook(Clock::duration lifetime) : lifetime_(lifetime) {}

  // A new ticket for `serial`: "T" and 10 characters of the unlock-code alphabet in two
  // groups (no 0, 1, I or O), short enough to read over the phone.
  std::string issue(std::uint32_t serial, const std::string& operator_name, Clock::time_point now);

  // Whether the ticket is good for one unlock of `serial` now; it stays good until spent.
  // Case, spaces and dashes do not matter.
  Outcome check(const std::string& ticket, std::uint32_t serial, Clock::time_point now) const;
  // Spends an accepted ticket: once its response is on record, it unlocks nothing more.
  void spend(const std::string& ticket);

  // Who issued it, for the audit line (empty when unknown).
  std::string issuer_of(const std::string& ticket) const;

  Clock::time_point expiry_of(const std::string& ticket) const;

 private:
  struct Entry {
    std::uint32_t serial;
    std::string operator_name;
    Clock::time_point expires;
    bool used = false;
  };
  static std::string canonical(const std::string& ticket);
  void forget_expired(Clock::time_point now);

  Clock::duration lifetime_;
  std::map<std::string, Entry> tickets_;
};

const char* outcome_code(TicketBook::Outcome outcome);

}  // namespace certkey::portal
