// One HTTP connection (Beast's advanced server, STYLE rule 12): reads a request with
// bounded header, body and time, runs the guard on the network thread, hands the request to
// the token worker, and writes the answer back on the connection's strand.
#pragma once
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <optional>

#include "../api/router.hpp"
#include "request_guard.hpp"

namespace certkey::daemon {

inline constexpr std::size_t kHeaderLimit = 8 * 1024;
inline constexpr std::size_t kBodyLimit = 10000;  // a 4 KiB certificate as PEM in JSON fits
inline constexpr std::chrono::seconds kReadTimeout{30};   // to send one request
inline constexpr std::chrono::seconds kWriteTimeout{30};  // to take one answer
static_assert(kBodyLimit > 4096 * 4 / 3 + 512, "the largest certificate fits a request");

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(boost::asio::ip::tcp::socket&& socket, const GuardConfig& guard, Router& router,
              boost::asio::thread_pool& worker);
  void run();

 private:
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void send(Response response);
  void on_write(bool keep_alive, boost::beast::error_code ec, std::size_t bytes);
  void do_close();
  Response make_response(unsigned status, const nlohmann::json* body, const GuardVerdict& verdict) const;

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  const GuardConfig& guard_;
  Router& router_;
  boost::asio::thread_pool& worker_;
  std::shared_ptr<Response> in_flight_;
};

}  // namespace certkey::daemon
