// One HTTP connection on loopback (Beast's advanced server, STYLE rule 12): reads one request
// at a time with bounded header, body and time, passes the request guard, routes it to a
// command, and writes the command core's reply. GET /v1/events becomes a WsSession.
#pragma once
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <optional>

#include "../core/caller.hpp"
#include "net_context.hpp"
#include "http_answer.hpp"
#include "request_guard.hpp"

namespace certkey::daemon {

inline constexpr std::size_t kHeaderLimit = 8 * 1024;
inline constexpr std::size_t kBodyLimit = 64 * 1024;  // a certificate with its chain fits
inline constexpr std::chrono::seconds kWriteTimeout{30};
inline constexpr std::chrono::seconds kLingerTimeout{5};  // for the peer to close after a refusal

class HttpSession : public Connection, public std::enable_shared_from_this<HttpSession> {
 public:
  // `peer` carries the transport and the peer's uid; `foreign`: it belongs to another user.
  HttpSession(boost::asio::ip::tcp::socket&& socket, NetContext& net, unsigned port, Caller peer,
              bool foreign);
  ~HttpSession() override;
  void run();
  // Refused (over the connection cap, another user's peer): answers the error at once,
  // without reading, and closes.
  void refuse(ErrorCode code);
  void close_now() override;

 private:
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void handle();
  void execute(const std::string& command, nlohmann::json args, const std::optional<Origin>& origin,
               bool keep_alive);
  void answer_reply(const CommandReply& reply, const std::optional<Origin>& origin,
                    bool keep_alive);
  void upgrade(const Origin& origin);
  void answer_error(ErrorCode code, const std::optional<Origin>& cors, bool keep_alive,
                    const std::string& detail = {},
                    std::vector<std::pair<std::string_view, std::string>> headers = {});
  void send(std::shared_ptr<const std::string> bytes, bool keep_alive);
  void on_write(bool keep_alive, boost::beast::error_code ec, std::size_t bytes);
  void do_close();
  void drain();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  NetContext& net_;
  unsigned port_;
  Caller peer_;
  bool foreign_;
  std::shared_ptr<const std::string> writing_;
  // The last answer to a command, serialised: written again while the command's reply body
  // (the snapshot's token list) and the origin are the same.
  struct Cached {
    std::shared_ptr<const std::string> body;
    unsigned status = 0;
    std::string origin;
    bool keep_alive = false;
    std::shared_ptr<const std::string> bytes;
  } cached_;
};

}  // namespace certkey::daemon
