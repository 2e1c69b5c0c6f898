// The HTTP side shared by the example servers (certkey-test-ca and certkey-portal): Beast over
// Asio on one thread, loopback only, one request per connection with a deadline for all of it
// and bounded headers and body. A handler maps a request (and the TLS client certificate, if
// one was sent) to a response; an exception it lets out becomes a 500, never a crash.
#pragma once
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

namespace certkey::examples {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using Handler = std::function<Response(const Request&, X509* client_certificate)>;

inline constexpr std::size_t kMaxBody = 64 * 1024;
inline constexpr auto kRequestTimeout = std::chrono::seconds(10);

inline Response answer(const Request& request, http::status status, const std::string& content_type,
                       std::string body) {
  Response r(status, request.version());
  r.set(http::field::content_type, content_type);
  r.set(http::field::connection, "close");
  r.set(http::field::cache_control, "no-store");
  r.body() = std::move(body);
  r.prepare_payload();
  return r;
}

inline Response text(const Request& request, http::status status, const std::string& why) {
  return answer(request, status, "text/plain; charset=utf-8", why + "\n");
}

template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <typename... Tls>
  Session(tcp::socket socket, const char* name, const Handler& handler, Tls&... tls)
      : stream_(std::move(socket), tls...), name_(name), handler_(handler) {
    parser_.body_limit(kMaxBody);
    parser_.header_limit(8 * 1024);
  }

  void start() {
    beast::get_lowest_layer(stream_).expires_after(kRequestTimeout);
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      read();
    } else {
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (!ec) self->read();
                              });
    }
  }

 private:
  void read() {
    http::async_read(stream_, buffer_, parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       if (!ec) self->respond();
                     });
  }

  void respond() {
    X509* peer = nullptr;
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>)
      peer = SSL_get0_peer_certificate(stream_.native_handle());
    const Request& request = parser_.get();
    try {
      response_ = handler_(request, peer);
    } catch (const std::exception& e) {  // logged here, not told to the client
      std::fprintf(stderr, "%s: %s\n", name_, e.what());
      response_ = text(request, http::status::internal_server_error, "internal error");
    }
    response_.set(http::field::server, name_);
    std::fprintf(stderr, "%s: %s %s -> %u\n", name_, std::string(request.method_string()).c_str(),
                 std::string(request.target()).c_str(), response_.result_int());
    http::async_write(stream_, response_,
                      [self = this->shared_from_this()](beast::error_code, std::size_t) {
                        beast::error_code ignored;
                        beast::get_lowest_layer(self->stream_)
                            .socket()
                            .shutdown(tcp::socket::shutdown_both, ignored);
                      });
  }

  Stream stream_;
  const char* name_;
  const Handler& handler_;
  beast::flat_buffer buffer_;
  http::request_parser<http::string_body> parser_;
  Response response_;
};

// Tells where the server listens: `line` (JSON) into a FIFO in place, so that a script or
// a test waits for the server by reading it; into a regular file by rename.
inline void write_port_file(const std::string& path, const std::string& line) {
  if (std::filesystem::is_fifo(path)) {
    std::ofstream(path) << line << "\n";
    return;
  }
  std::ofstream(path + ".new") << line << "\n";
  std::filesystem::rename(path + ".new", path);
}

// Accepts on `acceptor` for as long as the io_context runs; `name` and `handler` outlive it.
// Each session ends by its deadline, which bounds how many a flood can hold open.
template <typename Stream, typename... Tls>
void accept(tcp::acceptor& acceptor, const char* name, const Handler& handler, Tls&... tls) {
  acceptor.async_accept(
      [&acceptor, name, &handler, &tls...](beast::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted) return;  // the server stops
        if (!ec)
          std::make_shared<Session<Stream>>(std::move(socket), name, handler, tls...)->start();
        if (ec == asio::error::no_descriptors) {  // out of descriptors: accept again once sessions
                                                  // had time to end
          auto pause = std::make_shared<asio::steady_timer>(acceptor.get_executor(),
                                                            std::chrono::milliseconds(100));
          pause->async_wait([pause, &acceptor, name, &handler, &tls...](beast::error_code) {
            accept<Stream>(acceptor, name, handler, tls...);
          });
          return;
        }
        accept<Stream>(acceptor, name, handler,
                       tls...);  // any other failure was this connection's alone
      });
}

}  // namespace certkey::examples
