// The relay between the browser (native messaging on standard input and output) and
// certkeyd's unix socket. Both sides use the same framing (ipc/frame_codec.hpp), so frames
// pass unchanged; the relay checks their bounds, introduces itself once, and reports in the
// browser's framing what it cannot relay.
#pragma once
#include <string>

namespace certkey::native_host {

// The extension a browser started us for: Chrome passes its origin
// ("chrome-extension://ID/") first; Firefox passes the manifest's path, then the add-on id.
std::string extension_of(int argc, char** argv);

// Relays until either side closes. Returns the process's exit status.
int relay(int browser_in, int browser_out, const std::string& socket_path,
          const std::string& extension);

}  // namespace certkey::native_host
