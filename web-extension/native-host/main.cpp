// certkey-native-host: started by the browser for each connection of the certkey extension
// (its manifest's "path" takes no arguments, so this is a binary of its own). It relays
// messages between the extension and certkeyd's unix socket; tokens and state stay with the
// one daemon (DESIGN.md section 6).
#include <unistd.h>

#include <csignal>

#include "ipc/frame_codec.hpp"
#include "relay.hpp"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a closed browser or daemon ends the relay, not a signal
  return certkey::native_host::relay(STDIN_FILENO, STDOUT_FILENO,
                                     certkey::ipc::default_socket_path(),
                                     certkey::native_host::extension_of(argc, argv));
}
