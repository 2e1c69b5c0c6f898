// event-latency: how long after pcscd reports an inserted token does certkeyd's WebSocket
// announce it (docs/benchmarks.md, "Daemon"). N times: remove the token through the
// simulator's control socket and wait for certkeyd's tokenRemoved, then record T0 and insert
// it again while two threads block, one in SCardGetStatusChange on the token's reader (its own
// PC/SC context: T_pcsc when pcscd reports SCARD_STATE_PRESENT) and one on the daemon's
// WebSocket (T_ws when tokenInserted arrives). Every wait is a blocking call woken by the
// event itself; nothing sleeps or polls.
//
//   event-latency --port PORT --origin ORIGIN --control SOCKET [--token NAME]
//                 [--reader TEXT] [--iterations N]
//
// Prints one JSON object: median and p90 (ms) of T_pcsc - T0, T_ws - T_pcsc and T_ws - T0.
#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>

#include "control_client.hpp"
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

// Only a bound on failure (a daemon or pcscd that never answers): no wait is timed by it.
constexpr std::chrono::seconds kGiveUp{30};

struct PcscEvent {
  Clock::time_point at;
  bool present;
};

struct WsEvent {
  Clock::time_point at;
  std::string event;
  std::string reader;
};

// What the two watcher threads saw, in order, for the main thread to take.
struct Observed {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<PcscEvent> pcsc;
  std::deque<WsEvent> ws;
  std::string failure;  // a watcher stopped

  void add(PcscEvent e) {
    {
      std::lock_guard lock(mutex);
      pcsc.push_back(e);
    }
    changed.notify_all();
  }
  void add(WsEvent e) {
    {
      std::lock_guard lock(mutex);
      ws.push_back(std::move(e));
    }
    changed.notify_all();
  }
  void fail(const std::string& why) {
    {
      std::lock_guard lock(mutex);
      if (failure.empty()) failure = why;
    }
    changed.notify_all();
  }

  // Blocks until `take` finds what it wants in the queues (it removes what it consumed).
  template <typename Take>
  auto wait(const char* what, Take take) {
    std::unique_lock lock(mutex);
    decltype(take()) found;
    if (!changed.wait_for(lock, kGiveUp, [&] {
          found = take();
          return found.has_value() || !failure.empty();
        })) {
      throw std::runtime_error(std::string("no ") + what + " within " +
                               std::to_string(kGiveUp.count()) + " s");
    }
    if (!found) throw std::runtime_error(std::string("waiting for ") + what + ": " + failure);
    return *found;
  }

  std::optional<Clock::time_point> take_pcsc(bool present) {
    while (!pcsc.empty()) {
      const PcscEvent e = pcsc.front();
      pcsc.pop_front();
      if (e.present == present) return e.at;
    }
    return std::nullopt;
  }
  std::optional<Clock::time_point> take_ws(const std::string& event, const std::string& reader) {
    while (!ws.empty()) {
      const WsEvent e = ws.front();
      ws.pop_front();
      if (e.event == event && e.reader == reader) return e.at;
    }
    return std::nullopt;
  }
};

// One line to certkey-sim's control socket ("remove token1"); the reply starts with "ok".
void control(const std::string& path, const std::string& command) {
  const std::optional<std::string> reply = certkey::sim::control_request(path, command);
  if (!reply) throw std::runtime_error("cannot reach the simulator at " + path);
  if (reply->rfind("ok", 0) != 0)
    throw std::runtime_error("certkey-sim " + command + ": " + *reply);
}

// pcscd's view of one reader, from a PC/SC context of this thread's own.
void watch_pcsc(SCARDCONTEXT ctx, const std::string& reader, Observed& seen) {
  SCARD_READERSTATE state{};
  state.szReader = reader.c_str();
  state.dwCurrentState = SCARD_STATE_UNAWARE;  // the first call answers with the state now
  for (bool first = true;; first = false) {
    const LONG rv = SCardGetStatusChange(ctx, INFINITE, &state, 1);
    const Clock::time_point at = Clock::now();
    if (rv == SCARD_E_CANCELLED) return;
    if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT) {
      return seen.fail(std::string("SCardGetStatusChange: ") + pcsc_stringify_error(rv));
    }
    if (first || (state.dwEventState & SCARD_STATE_CHANGED)) {
      seen.add(PcscEvent{at, (state.dwEventState & SCARD_STATE_PRESENT) != 0});
    }
    state.dwCurrentState = state.dwEventState & ~static_cast<DWORD>(SCARD_STATE_CHANGED);
  }
}

using WebSocket = websocket::stream<asio::ip::tcp::socket>;

// certkeyd's events, as they arrive.
void watch_ws(WebSocket& ws, Observed& seen) {
  beast::flat_buffer buffer;
  for (;;) {
    beast::error_code ec;
    ws.read(buffer, ec);
    const Clock::time_point at = Clock::now();
    if (ec) return seen.fail("the WebSocket closed: " + ec.message());
    const json message = json::parse(beast::buffers_to_string(buffer.data()), nullptr, false);
    buffer.consume(buffer.size());
    if (!message.is_object() || !message.contains("event")) continue;
    std::string reader;
    const json* token = nullptr;
    if (message.contains("data") && message["data"].contains("token"))
      token = &message["data"]["token"];
    if (token && token->contains("reader") && (*token)["reader"].is_string())
      reader = (*token)["reader"];
    seen.add(WsEvent{at, message["event"].get<std::string>(), reader});
  }
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Linear interpolation between the nearest ranks (numpy's default).
double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(pos);
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

json summary(const std::vector<double>& v) {
  auto round3 = [](double x) {
    return static_cast<double>(static_cast<long long>(x * 1000 + 0.5)) / 1000;
  };
  return {{"median", round3(quantile(v, 0.5))},
          {"p90", round3(quantile(v, 0.9))},
          {"min", round3(v.empty() ? 0 : *std::min_element(v.begin(), v.end()))},
          {"max", round3(v.empty() ? 0 : *std::max_element(v.begin(), v.end()))}};
}

int usage() {
  std::fprintf(stderr,
               "usage: event-latency --port PORT --origin ORIGIN --control SOCKET [--token NAME]\n"
               "                     [--reader TEXT] [--iterations N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string port, origin, control_path, token = "token1", reader;
  int iterations = 20;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    const std::string value = argv[++i];
    if (a == "--port")
      port = value;
    else if (a == "--origin")
      origin = value;
    else if (a == "--control")
      control_path = value;
    else if (a == "--token")
      token = value;
    else if (a == "--reader")
      reader = value;
    else if (a == "--iterations")
      iterations = std::atoi(value.c_str());
    else
      return usage();
  }
  if (port.empty() || origin.empty() || control_path.empty() || iterations < 1) return usage();
  if (reader.empty()) reader = "certkey " + token + " 00 00";

  asio::io_context io;
  WebSocket ws(io);
  SCARDCONTEXT ctx = 0;
  Observed seen;
  std::thread pcsc_thread, ws_thread;
  int status = 0;
  try {
    asio::ip::tcp::resolver resolver(io);
    asio::connect(ws.next_layer(), resolver.resolve("127.0.0.1", port));
    ws.next_layer().set_option(asio::ip::tcp::no_delay(true));
    ws.set_option(websocket::stream_base::decorator(
        [&origin](websocket::request_type& r) { r.set(beast::http::field::origin, origin); }));
    ws.handshake("127.0.0.1:" + port, "/v1/events");
    // A command's answer proves the session is subscribed: the daemon subscribes a WebSocket
    // before it reads its first message.
    ws.write(asio::buffer(std::string(R"({"id":1,"command":"listTokens"})")));
    beast::flat_buffer first;
    ws.read(first);
    const json list = json::parse(beast::buffers_to_string(first.data()));
    bool listed = false;
    for (const json& t : list.at("result").at("tokens")) listed |= t.value("reader", "") == reader;
    if (!listed) throw std::runtime_error("certkeyd does not list a token in \"" + reader + "\"");

    if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx) != SCARD_S_SUCCESS) {
      throw std::runtime_error("no PC/SC context (is pcscd running?)");
    }
    pcsc_thread = std::thread(watch_pcsc, ctx, reader, std::ref(seen));
    ws_thread = std::thread(watch_ws, std::ref(ws), std::ref(seen));
    seen.wait("initial PC/SC state", [&] { return seen.take_pcsc(true); });

    std::vector<double> pcsc_after_insert, ws_after_pcsc, ws_after_insert;
    for (int i = 0; i < iterations; ++i) {
      control(control_path, "remove " + token);
      seen.wait("tokenRemoved", [&] { return seen.take_ws("tokenRemoved", reader); });
      seen.wait("PC/SC removal", [&] { return seen.take_pcsc(false); });
      // Both watchers are (back) in their blocking calls, nothing else is pending.
      const Clock::time_point t0 = Clock::now();
      control(control_path, "insert " + token);
      const Clock::time_point t_pcsc =
          seen.wait("PC/SC insertion", [&] { return seen.take_pcsc(true); });
      const Clock::time_point t_ws =
          seen.wait("tokenInserted", [&] { return seen.take_ws("tokenInserted", reader); });
      pcsc_after_insert.push_back(ms(t_pcsc - t0));
      ws_after_pcsc.push_back(ms(t_ws - t_pcsc));
      ws_after_insert.push_back(ms(t_ws - t0));
    }
    json out = {{"iterations", iterations},
                {"reader", reader},
                {"pcsc_after_insert_ms", summary(pcsc_after_insert)},
                {"ws_after_pcsc_ms", summary(ws_after_pcsc)},
                {"ws_after_insert_ms", summary(ws_after_insert)},
                {"ws_after_pcsc_samples_ms", ws_after_pcsc}};
    std::puts(out.dump().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "event-latency: %s\n", e.what());
    status = 1;
  }
  // Wake both watchers: SCardCancel ends the PC/SC wait, shutting the socket down ends the read.
  if (ctx) SCardCancel(ctx);
  if (ws.next_layer().is_open()) ::shutdown(ws.next_layer().native_handle(), SHUT_RDWR);
  if (pcsc_thread.joinable()) pcsc_thread.join();
  if (ws_thread.joinable()) ws_thread.join();
  if (ctx) SCardReleaseContext(ctx);
  return status;
}
