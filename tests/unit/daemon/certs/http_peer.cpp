#include "http_peer.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace certkey::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

}  // namespace

HttpPeer::HttpPeer() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
  port_ = acceptor_.local_endpoint().port();
  accept();
  thread_ = std::thread([this] { io_.run(); });
}

HttpPeer::~HttpPeer() {
  io_.stop();
  thread_.join();
}

std::string HttpPeer::url(const std::string& target) const {
  return "http://127.0.0.1:" + std::to_string(port_) + target;
}

void HttpPeer::serve(const std::string& target, Reply reply) {
  const std::lock_guard lock(mutex_);
  replies_[target] = std::move(reply);
}

unsigned HttpPeer::requests(const std::string& target) const {
  const std::lock_guard lock(mutex_);
  const auto count = requests_.find(target);
  return count == requests_.end() ? 0 : count->second;
}

void HttpPeer::accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;
    answer(std::move(socket));
    accept();
  });
}

// Synchronous on the server thread: the only client is the checker under test, which sends
// its whole request at once.
void HttpPeer::answer(tcp::socket socket) {
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  beast::error_code ec;
  http::read(socket, buffer, request, ec);
  if (ec) return;
  const std::string target(request.target());
  Reply reply;
  {
    const std::lock_guard lock(mutex_);
    ++requests_[target];
    const auto found = replies_.find(target);
    if (found == replies_.end()) {
      reply.status = 404;
    } else {
      reply = found->second;
    }
  }
  if (reply.hang) {
    held_.push_back(std::move(socket));
    return;
  }
  if (reply.raw) {
    asio::write(socket, asio::buffer(reply.body), ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
    return;
  }
  http::response<http::string_body> response(static_cast<http::status>(reply.status), 11);
  response.set(http::field::content_type, "application/octet-stream");
  response.body() = std::move(reply.body);
  response.prepare_payload();
  http::write(socket, response, ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
}

}  // namespace certkey::test
