// Who sent a command (DESIGN.md section 6). Every transport builds one from what it knows
// itself, never from the command's arguments, and it travels with the command into the
// audit log, the rate limits and the PIN prompt's text.
#pragma once
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "origin.hpp"

namespace certkey::daemon {

// `certkeyd`: the daemon's own housekeeping (finishing interrupted renewals, retention).
enum class Transport { http, websocket, unix_socket, native_messaging, certkeyd };

std::string_view transport_name(Transport transport);

struct Caller {
  Transport transport = Transport::http;
  // The web page's origin: the HTTP Origin header, or the origin the browser gave the
  // extension for the sending tab. None for a program on this computer (the CLI).
  std::optional<Origin> origin;
  // The peer process: SO_PEERCRED for unix sockets, the kernel's socket owner for loopback.
  std::optional<uid_t> uid;
  std::optional<pid_t> pid;
  std::string extension;  // the extension a native-messaging relay speaks for
  std::string tty_name;   // a terminal the caller offers for the PIN prompt (unix socket only)
  std::string tty_type;

  // The origin as text, or "" for a local program.
  std::string origin_text() const { return origin ? origin->text() : std::string(); }
};

}  // namespace certkey::daemon
