#include "ticket_book.hpp"

#include <certkey/card/unlock.hpp>
#include <openssl/rand.h>

#include <cctype>
#include <stdexcept>

namespace certkey::portal {
namespace {

using card::unlock::kAlphabet;              // the unlock codes' 32 symbols: 5 bits each
constexpr std::size_t kSymbols = 10;        // 50 bits
constexpr std::size_t kMaxTickets = 10000;  // bounded by expiry, and by this

}  // namespace

std::string TicketBook::canonical(const std::string& ticket) {
  std::string out;
  for (const char c : ticket) {
    if (c == '-' || c == ' ') continue;
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (out.size() > 32) break;  // longer than any ticket: invalid whatever follows
  }
  return out;
}

void TicketBook::forget_expired(Clock::time_point now) {
  // Used and expired tickets are kept for a lifetime more, so that they are refused as what
  // they are rather than as unknown.
  for (auto it = tickets_.begin(); it != tickets_.end();) {
    it = it->second.expires + lifetime_ < now ? tickets_.erase(it) : std::next(it);
  }
}

std::string TicketBook::issue(std::uint32_t serial, const std::string& operator_name,
                              Clock::time_point now) {
  forget_expired(now);
  if (tickets_.size() >= kMaxTickets) throw std::runtime_error("too many tickets outstanding");
  std::string ticket;
  do {
    unsigned char random[kSymbols];
    if (RAND_bytes(random, sizeof random) != 1) throw std::runtime_error("no random numbers");
    ticket = "T";
    for (const unsigned char r : random) ticket += kAlphabet[r % 32];  // 256 = 8 x 32: unbiased
  } while (tickets_.count(ticket));
  tickets_[ticket] = {serial, operator_name, now + lifetime_};
  return ticket.substr(0, 6) + "-" + ticket.substr(6);
}

TicketBook::Outcome TicketBook::check(const std::string& ticket, std::uint32_t serial,
                                      Clock::time_point now) const {
  if (ticket.empty()) return Outcome::missing;
  const auto it = tickets_.find(canonical(ticket));
  if (it == tickets_.end()) return Outcome::invalid;
  const Entry& entry = it->second;
  if (entry.used) return Outcome::used;
  if (entry.expires < now) return Outcome::expired;
  if (entry.serial != serial) return Outcome::wrong_token;
  return Outcome::accepted;
}

void TicketBook::spend(const std::string& ticket) {
  const auto it = tickets_.find(canonical(ticket));
  if (it != tickets_.end()) it->second.used = true;
}

std::string TicketBook::issuer_of(const std::string& ticket) const {
  const auto it = tickets_.find(canonical(ticket));
  return it == tickets_.end() ? std::string() : it->second.operator_name;
}

Clock::time_point TicketBook::expiry_of(const std::string& ticket) const {
  const auto it = tickets_.find(canonical(ticket));
  return it == tickets_.end() ? Clock::time_point() : it->second.expires;
}

const char* outcome_code(TicketBook::Outcome outcome) {
  switch (outcome) {
    case TicketBook::Outcome::accepted: return "accepted";
    case TicketBook::Outcome::missing: return "ticket_missing";
    case TicketBook::Outcome::invalid: return "ticket_invalid";
    case TicketBook::Outcome::used: return "ticket_used";
    case TicketBook::Outcome::expired: return "ticket_expired";
    case TicketBook::Outcome::wrong_token: return "ticket_wrong_token";
  }
  return "ticket_invalid";
}

}  // namespace certkey::portal
