// One token, with the APDU rules of ISO 7816-4 on top of a CardLink: chaining, GET RESPONSE,
// the corrected Le, logical channels, one transaction per operation.
#pragma once
#include <memory>
#include <string>

#include "card_link.hpp"

namespace certkey::card {

class Connection {
 public:
  explicit Connection(std::unique_ptr<CardLink> link) : link_(std::move(link)) {}
  // Connects through PC/SC (pcsc_links()).
  explicit Connection(const std::string& reader_match)
      : Connection(pcsc_links().connect(reader_match)) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const std::string& reader() const { return link_->reader(); }
  const Bytes& atr() const { return link_->atr(); }
  CardInsertion insertion() const { return link_->insertion(); }
  void reconnect() { link_->reconnect(); }

  // Sends a command and collects the whole response: chains long data, follows 61xx with
  // GET RESPONSE and 6Cxx with the corrected Le. Every APDU goes on the current channel.
  Response transmit(const Command& command);
  // The logical channel later commands use (0: the basic channel).
  void use_channel(std::uint8_t channel) { channel_ = channel; }
  std::uint8_t channel() const { return channel_; }

  // Holds the card exclusively for the lifetime of the object.
  class Transaction {
   public:
    explicit Transaction(Connection& connection) : link_(*connection.link_) {
      link_.begin_transaction();
    }
    ~Transaction() { link_.end_transaction(); }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

   private:
    CardLink& link_;
  };

 private:
  Bytes exchange(const Bytes& apdu);
  std::unique_ptr<CardLink> link_;
  std::uint8_t channel_ = 0;
};

}  // namespace certkey::card
