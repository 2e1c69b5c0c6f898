// The portal's help-desk tickets (examples/portal/server/ticket_book.hpp): one unlock, one
// token, a short life; refusals say which, and only a response on record spends a ticket.
#include "ticket_book.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace certkey::portal {
namespace {

using namespace std::chrono_literals;
using Outcome = TicketBook::Outcome;
const Clock::time_point kNow = Clock::time_point() + 1000h;

TEST(TicketBook, Ticket_IsReadableOverThePhone_AndUnique) {
  TicketBook book(15min);
  const std::string a = book.issue(7, "desk", kNow), b = book.issue(7, "desk", kNow);
  EXPECT_TRUE(std::regex_match(a, std::regex("T[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5}"))) << a;
  EXPECT_NE(a, b);
}

TEST(TicketBook, Ticket_UnlocksItsTokenOnce) {
  TicketBook book(15min);
  const std::string ticket = book.issue(7, "desk", kNow);
  EXPECT_EQ(book.check(ticket, 7, kNow + 1min), Outcome::accepted);
  EXPECT_EQ(book.check(ticket, 7, kNow + 1min), Outcome::accepted)
      << "good until spent (an HSM failure spends nothing)";
  book.spend(ticket);
  EXPECT_EQ(book.check(ticket, 7, kNow + 2min), Outcome::used);
  EXPECT_EQ(book.issuer_of(ticket), "desk");
}

TEST(TicketBook, CaseSpacesAndDashes_DoNotMatter) {
  TicketBook book(15min);
  std::string ticket = book.issue(7, "desk", kNow);
  for (char& c : ticket) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  ticket.replace(ticket.find('-'), 1, " ");
  EXPECT_EQ(book.check(ticket, 7, kNow), Outcome::accepted);
}

TEST(TicketBook, AnotherTokensTicket_IsRefused_AndStaysGoodForItsOwn) {
  TicketBook book(15min);
  const std::string ticket = book.issue(7, "desk", kNow);
  EXPECT_EQ(book.check(ticket, 8, kNow), Outcome::wrong_token);
  EXPECT_EQ(book.check(ticket, 7, kNow), Outcome::accepted);
}

TEST(TicketBook, ExpiredMissingOrUnknown_AreRefusedAsSuch) {
  TicketBook book(15min);
  const std::string ticket = book.issue(7, "desk", kNow);
  EXPECT_EQ(book.check(ticket, 7, kNow + 16min), Outcome::expired);
  EXPECT_EQ(book.check("", 7, kNow), Outcome::missing);
  EXPECT_EQ(book.check("T22222-22222", 7, kNow), Outcome::invalid);
  EXPECT_EQ(book.check(std::string(10000, 'A'), 7, kNow), Outcome::invalid);
  EXPECT_STREQ(outcome_code(Outcome::expired), "ticket_expired");
}

TEST(TicketBook, OldTickets_AreForgotten_SoTheBookStaysBounded) {
  TicketBook book(15min);
  const std::string old = book.issue(7, "desk", kNow);
  book.issue(8, "desk", kNow + 31min);  // issuing sweeps tickets a lifetime past expiry
  EXPECT_EQ(book.check(old, 7, kNow + 31min), Outcome::invalid);
}

}  // namespace
}  // namespace certkey::portal
