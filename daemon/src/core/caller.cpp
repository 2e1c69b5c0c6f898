#include "caller.hpp"

namespace certkey::daemon {

std::string_view transport_name(Transport transport) {
  switch (transport) {
    case Transport::http: return "http";
    case Transport::websocket: return "websocket";
    case Transport::unix_socket: return "unix_socket";
    case Transport::native_messaging: return "native_messaging";
    case Transport::certkeyd: return "certkeyd";
  }
  return "unknown";
}

}  // namespace certkey::daemon
