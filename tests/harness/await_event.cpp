// await-event: runs a command and waits for the certkeyd event it causes, without a race:
// it subscribes on the daemon's unix socket first (watchEvents), then runs the command, then
// reads events until one of the given kind (and token serial, if given) arrives, and prints
// it (the command's own output goes to standard error). For shell tests and the demo: a token
// pulled or inserted is seen by the daemon, not only by pcscd.
//
//   await-event --socket PATH --event NAME [--serial N] -- COMMAND [ARGS...]
//
// Exit status: 0 when the event came, 1 when the daemon closed the connection first, 2 on a
// usage error, the command's status when it failed.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "ipc/frame_codec.hpp"
#include "ipc/stream.hpp"

namespace {

int usage() {
  std::fputs("usage: await-event --socket PATH --event NAME [--serial N] -- COMMAND [ARGS...]\n",
             stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path, event;
  long long serial = -1;
  int i = 1;
  for (; i + 1 < argc && std::strcmp(argv[i], "--") != 0; i += 2) {
    if (!std::strcmp(argv[i], "--socket"))
      socket_path = argv[i + 1];
    else if (!std::strcmp(argv[i], "--event"))
      event = argv[i + 1];
    else if (!std::strcmp(argv[i], "--serial"))
      serial = std::stoll(argv[i + 1]);
    else
      return usage();
  }
  if (i >= argc || std::strcmp(argv[i], "--") != 0 || i + 1 >= argc || socket_path.empty() ||
      event.empty())
    return usage();

  const int fd = certkey::ipc::connect_unix(socket_path);
  if (fd < 0) {
    std::perror(("await-event: " + socket_path).c_str());
    return 1;
  }
  const std::string watch = certkey::ipc::encode_frame(R"({"id":1,"command":"watchEvents"})");
  if (!certkey::ipc::write_all(fd, watch)) return 1;
  certkey::ipc::FrameDecoder decoder(certkey::ipc::kMaxReplyFrame);
  std::optional<std::string> frame = certkey::ipc::read_frame(fd, decoder);
  if (!frame || nlohmann::json::parse(*frame, nullptr, false).value("status", 0) != 200) {
    std::fprintf(stderr, "await-event: watchEvents failed: %s\n", frame.value_or("").c_str());
    return 1;
  }

  const pid_t child = ::fork();
  if (child == 0) {
    ::dup2(STDERR_FILENO, STDOUT_FILENO);  // standard output carries the event alone
    ::execvp(argv[i + 1], argv + i + 1);
    std::perror(argv[i + 1]);
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;

  while ((frame = certkey::ipc::read_frame(fd, decoder))) {
    const nlohmann::json message = nlohmann::json::parse(*frame, nullptr, false);
    if (!message.is_object() || message.value("event", "") != event) continue;
    if (serial >= 0 && message["data"]["token"].value("serial", -1LL) != serial) continue;
    std::puts(frame->c_str());
    return 0;
  }
  std::fputs("await-event: the daemon closed the connection\n", stderr);
  return 1;
}
