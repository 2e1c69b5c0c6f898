#include "http_fetch.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/http/vector_body.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

namespace certkey::daemon {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Body = http::vector_body<std::uint8_t>;

// OCSP and CRL responses carry their data in the body; a header this large is not one.
inline constexpr std::uint32_t kMaxHeaderBytes = 8 * 1024;

bool is_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool valid_port(std::string_view port) {
  if (!is_digits(port) || port.size() > 5) return false;
  const unsigned long value = std::stoul(std::string(port));
  return value >= 1 && value <= 65535;
}

// Letters, digits, '-', '.', '_' (RFC 3986 reg-name without percent-encoding, which no CA
// puts in an OCSP or CRL URL).
bool valid_name(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

bool valid_ipv6(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
  });
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Splits "host[:port]" or "[v6][:port]" into `url`; false with `why` when it is neither.
bool parse_authority(std::string_view authority, HttpUrl& url, std::string& why) {
  if (authority.find('@') != std::string_view::npos) {
    why = "user information in the URL is not supported";
    return false;
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos || !valid_ipv6(authority.substr(1, close - 1))) {
      why = "a malformed IPv6 address";
      return false;
    }
    url.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      why = "a malformed host";
      return false;
    }
    port = after.empty() ? after : after.substr(1);
  } else {
    const std::size_t colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    if (!valid_name(url.host)) {
      why = url.host.empty() ? "no host" : "a malformed host";
      return false;
    }
  }
  url.port = port.empty() ? (url.tls ? "443" : "80") : std::string(port);
  if (!valid_port(url.port)) {
    why = "a malformed port";
    return false;
  }
  return true;
}

std::string host_header(const HttpUrl& url) {
  const bool ipv6 = url.host.find(':') != std::string::npos;
  std::string host = ipv6 ? "[" + url.host + "]" : url.host;
  return url.port == (url.tls ? "443" : "80") ? host : host + ":" + url.port;
}

// What a lookup thread hands back; shared, because the caller may stop waiting first.
struct PendingLookup {
  std::mutex mutex;
  std::condition_variable finished;
  bool done = false;
  beast::error_code error;
  tcp::resolver::results_type results;
};

// getaddrinfo cannot be cancelled (Asio's resolver runs it on an internal thread and joins
// that thread when its io_context is destroyed), so a name is looked up on a thread of its
// own that the caller stops waiting for at the deadline. That thread ends when the system
// resolver gives up (resolv.conf(5), "timeout" and "attempts"). Addresses need no thread.
tcp::resolver::results_type look_up(const HttpUrl& url, Clock::time_point deadline,
                                    beast::error_code& error) {
  {
    asio::io_context io;
    tcp::resolver resolver(io);
    auto numeric = resolver.resolve(
        url.host, url.port, tcp::resolver::numeric_host | tcp::resolver::numeric_service, error);
    if (!error) return numeric;
  }
  auto pending = std::make_shared<PendingLookup>();
  std::thread([pending, host = url.host, port = url.port] {
    asio::io_context io;
    tcp::resolver resolver(io);
    beast::error_code ec;
    auto results = resolver.resolve(host, port, tcp::resolver::numeric_service, ec);
    const std::lock_guard lock(pending->mutex);
    pending->results = std::move(results);
    pending->error = ec;
    pending->done = true;
    pending->finished.notify_all();
  }).detach();
  std::unique_lock lock(pending->mutex);
  if (!pending->finished.wait_until(lock, deadline, [&] { return pending->done; })) {
    error = beast::error::timeout;
    return {};
  }
  error = pending->error;
  return pending->results;
}

// One request and its response on one connection, Beast's do_x/on_x steps. The stream's
// expiry is set once: it bounds connect, write and read together (beast::tcp_stream, "The
// timer applies collectively to any asynchronous reads or writes initiated after the
// expiration is set, until the expiration is set again").
// Over TLS, the handshake comes between the connection and the request.
template <typename Stream>
class Exchange {
 public:
  template <typename... TlsContext>
  Exchange(asio::io_context& io, http::request<Body> request, std::size_t max_response_bytes,
           TlsContext&... tls)
      : stream_(io, tls...), request_(std::move(request)), max_response_bytes_(max_response_bytes) {
    parser_.body_limit(max_response_bytes);
    parser_.header_limit(kMaxHeaderBytes);
  }

  Stream& stream() { return stream_; }

  void start(const tcp::resolver::results_type& endpoints, Clock::time_point deadline) {
    beast::get_lowest_layer(stream_).expires_at(deadline);
    beast::get_lowest_layer(stream_).async_connect(
        endpoints, [this](beast::error_code ec, const tcp::endpoint&) { on_connect(ec); });
  }

  beast::error_code error() const { return error_; }
  http::response<Body>& response() { return parser_.get(); }

 private:
  void on_connect(beast::error_code ec) {
    if (ec) return finish(ec);
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      write_request();
    } else {
      stream_.async_handshake(asio::ssl::stream_base::client, [this](beast::error_code e) {
        if (e) return finish(e);
        write_request();
      });
    }
  }

  void write_request() {
    http::async_write(stream_, request_, [this](beast::error_code e, std::size_t) { on_write(e); });
  }

  // The header first, then the body: Boost 1.74's parser drops its body-limit error when the
  // header and the start of a Content-Length body come in one read and it parses eagerly, as
  // http::async_read has it do; it would then read the whole body. The length is checked
  // here, between the two reads; bodies without one are held to body_limit as they come.
  void on_write(beast::error_code ec) {
    if (ec) return finish(ec);
    http::async_read_header(stream_, buffer_, parser_,
                            [this](beast::error_code e, std::size_t) { on_header(e); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return finish(ec);
    const boost::optional<std::uint64_t> length = parser_.content_length();
    if (length && *length > max_response_bytes_) return finish(http::error::body_limit);
    http::async_read(stream_, buffer_, parser_,
                     [this](beast::error_code e, std::size_t) { finish(e); });
  }

  void finish(beast::error_code ec) {
    error_ = ec;
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  Stream stream_;
  http::request<Body> request_;
  std::size_t max_response_bytes_;
  beast::flat_buffer buffer_;
  http::response_parser<Body> parser_;
  beast::error_code error_;
};

std::string describe(const beast::error_code& error, const FetchLimits& limits) {
  if (error == beast::error::timeout)
    return "timed out after " + std::to_string(limits.timeout.count()) + " ms";
  if (error == http::error::body_limit) {
    return "the response is larger than " + std::to_string(limits.max_response_bytes) + " bytes";
  }
  if (error == http::error::header_limit) return "the response header is too large";
  return error.message();
}

// The TLS stream, ready for the handshake: SNI (RFC 6066) and the name the server's
// certificate must carry (RFC 6125), on top of the caller's verification settings.
bool prepare_tls(beast::ssl_stream<beast::tcp_stream>& stream, const HttpUrl& url) {
  SSL* ssl = stream.native_handle();
  const bool address = url.host.find_first_not_of("0123456789.") == std::string::npos ||
                       url.host.find(':') != std::string::npos;
  // SSL_set_tlsext_host_name, without its C cast.
  if (!address && SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                           const_cast<char*>(url.host.c_str())) != 1) {
    return false;
  }
  return SSL_set1_host(ssl, url.host.c_str()) == 1;
}

template <typename Stream>
FetchResult run_exchange(Exchange<Stream>& exchange, const tcp::resolver::results_type& endpoints,
                         Clock::time_point deadline, asio::io_context& io,
                         const FetchLimits& limits) {
  FetchResult result;
  exchange.start(endpoints, deadline);
  io.run();
  if (exchange.error()) {
    result.error = describe(exchange.error(), limits);
    return result;
  }
  result.status = exchange.response().result_int();
  result.content_type = std::string(exchange.response()[http::field::content_type]);
  result.body = std::move(exchange.response().body());
  result.ok = result.status == 200;
  if (!result.ok) result.error = "HTTP " + std::to_string(result.status);
  return result;
}

FetchResult exchange(const HttpUrl& url, http::request<Body> request, const FetchLimits& limits,
                     ssl_ctx_st* tls) {
  FetchResult result;
  if (url.tls && !tls) {
    result.error = "https needs a TLS context";
    return result;
  }
  const Clock::time_point deadline = Clock::now() + limits.timeout;
  request.set(http::field::host, host_header(url));
  request.set(http::field::user_agent, "certkeyd");
  request.set(http::field::connection, "close");
  request.prepare_payload();

  beast::error_code error;
  const tcp::resolver::results_type endpoints = look_up(url, deadline, error);
  if (error) {
    result.error = "cannot resolve " + url.host + ": " + describe(error, limits);
    return result;
  }
  asio::io_context io;
  if (!url.tls) {
    Exchange<beast::tcp_stream> plain(io, std::move(request), limits.max_response_bytes);
    return run_exchange(plain, endpoints, deadline, io, limits);
  }
  SSL_CTX_up_ref(tls);  // asio's context takes a reference of its own, and frees it
  asio::ssl::context context(tls);
  Exchange<beast::ssl_stream<beast::tcp_stream>> secure(io, std::move(request),
                                                        limits.max_response_bytes, context);
  if (!prepare_tls(secure.stream(), url)) {
    result.error = "cannot set up TLS for " + url.host;
    return result;
  }
  return run_exchange(secure, endpoints, deadline, io, limits);
}

// Everything that could throw (allocation, thread creation) becomes an error: a revocation
// check must answer `unknown`, not fail the request that asked for it.
FetchResult guarded_exchange(const HttpUrl& url, http::request<Body> request,
                             const FetchLimits& limits, ssl_ctx_st* tls = nullptr) {
  try {
    return exchange(url, std::move(request), limits, tls);
  } catch (const std::exception& e) {
    FetchResult result;
    result.error = e.what();
    return result;
  }
}

}  // namespace

namespace {

std::optional<HttpUrl> parse_url(std::string_view url, bool tls, std::string& why) {
  if (url.size() > kMaxFetchUrlLength) {
    why = "the URL is longer than " + std::to_string(kMaxFetchUrlLength) + " characters";
    return std::nullopt;
  }
  if (std::any_of(url.begin(), url.end(), [](char c) { return c <= ' ' || c >= '\x7f'; })) {
    why = "the URL has a space or a control character";
    return std::nullopt;
  }
  const std::size_t separator = url.find("://");
  if (separator == std::string_view::npos) {
    why = "not an absolute URL";
    return std::nullopt;
  }
  const std::string scheme = lowercase(url.substr(0, separator));
  if (scheme != (tls ? "https" : "http")) {
    why = scheme == "https"
              ? "https is not supported (responses are signed; they are fetched over http)"
          : scheme == "http" ? "http is not accepted: the CA is reached over https"
                             : "the scheme " + scheme + " is not supported";
    return std::nullopt;
  }
  std::string_view rest = url.substr(separator + 3);
  rest = rest.substr(0, rest.find('#'));
  const std::size_t path = rest.find_first_of("/?");
  HttpUrl out;
  out.tls = tls;
  if (!parse_authority(rest.substr(0, path), out, why)) return std::nullopt;
  out.target = path == std::string_view::npos ? "/" : std::string(rest.substr(path));
  if (out.target.front() == '?') out.target.insert(0, "/");
  return out;
}

}  // namespace

std::optional<HttpUrl> parse_http_url(std::string_view url, std::string& why) {
  return parse_url(url, false, why);
}

std::optional<HttpUrl> parse_https_url(std::string_view url, std::string& why) {
  return parse_url(url, true, why);
}

FetchResult http_get(const HttpUrl& url, const FetchLimits& limits) {
  return guarded_exchange(url, http::request<Body>(http::verb::get, url.target, 11), limits);
}

FetchResult http_post(const HttpUrl& url, std::string_view content_type,
                      const std::vector<std::uint8_t>& body, const FetchLimits& limits,
                      ssl_ctx_st* tls) {
  http::request<Body> request(http::verb::post, url.target, 11);
  request.set(http::field::content_type,
              std::string(content_type));  // Boost 1.74: boost::string_view
  request.body() = body;
  return guarded_exchange(url, std::move(request), limits, tls);
}

}  // namespace certkey::daemon
