// A small HTTP server on 127.0.0.1 for the revocation tests (Boost.Beast, one thread): it
// serves CRLs and the broken answers a real responder might give (garbage, an error status, a
// response too large, no response at all), and counts the requests for each target.
#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace certkey::test {

class HttpPeer {
 public:
  struct Reply {
    unsigned status = 200;
    std::string body;
    bool hang = false;  // read the request, then never answer (until the peer stops)
    bool raw = false;   // `body` is the whole response, status line and header included

    static Reply ok(std::string body) { return {200, std::move(body), false, false}; }
    static Reply verbatim(std::string response) { return {200, std::move(response), false, true}; }
    static Reply silence() { return {200, {}, true, false}; }
  };

  HttpPeer();  // listening on a free port when it returns
  ~HttpPeer();
  HttpPeer(const HttpPeer&) = delete;
  HttpPeer& operator=(const HttpPeer&) = delete;

  unsigned short port() const { return port_; }
  std::string url(const std::string& target) const;
  // Targets without a reply get 404.
  void serve(const std::string& target, Reply reply);
  unsigned requests(const std::string& target) const;

 private:
  void accept();
  void answer(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  mutable std::mutex mutex_;
  std::map<std::string, Reply> replies_;
  std::map<std::string, unsigned> requests_;
  std::vector<boost::asio::ip::tcp::socket>
      held_;  // hanging connections, on the server thread only
  std::thread thread_;
};

}  // namespace certkey::test
