// What every connection of certkeyd needs: the network thread's io_context, the
// configuration, the command core, the connection cap and the event subscribers.
#pragma once
#include <boost/asio/io_context.hpp>

#include "../config/config.hpp"
#include "../core/command_core.hpp"
#include "connection_registry.hpp"
#include "event_hub.hpp"

namespace certkey::daemon {

struct NetContext {
  boost::asio::io_context& io;
  const Config& config;
  CommandCore& core;
  ConnectionRegistry& connections;
  EventHub& events;
};

// How many commands one WebSocket or unix-socket connection may have in flight; reading
// pauses beyond it. Bounds the memory one client can make the daemon hold.
inline constexpr std::size_t kMaxPipelined = 16;
// Messages queued towards one client; a client that does not read them is disconnected.
inline constexpr std::size_t kMaxQueuedMessages = 256;
static_assert(kMaxQueuedMessages > kMaxPipelined, "replies to a full pipeline fit the queue");

}  // namespace certkey::daemon
