// The API (docs/daemon.md, openapi/certkey-v1.json) as a function from a request that has
// passed the guard to a response: it parses and validates the body strictly, calls the
// services and maps every failure to the error table. It runs on the token worker thread.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "../service/renewal_journal.hpp"
#include "../service/token_service.hpp"

namespace certkey::daemon {

struct ApiRequest {
  std::string method;  // "GET" or "POST"
  std::string path;    // without the query
  std::string body;
  std::string origin;  // from the transport (the Origin header), never from the body
};

struct ApiResponse {
  unsigned status = 200;
  nlohmann::json body;
};

class Router {
 public:
  Router(TokenService& tokens, RenewalJournal& journal) : tokens_(tokens), journal_(journal) {}
  ApiResponse handle(const ApiRequest& request);

 private:
  ApiResponse dispatch(const ApiRequest& request);
  ApiResponse list_tokens();
  ApiResponse begin_renewal(const ApiRequest& request);
  ApiResponse show_renewal(const std::string& id, const ApiRequest& request);
  ApiResponse complete_renewal(const std::string& id, const ApiRequest& request);
  Renewal renewal_of(const std::string& id, const ApiRequest& request);

  TokenService& tokens_;
  RenewalJournal& journal_;
};

}  // namespace certkey::daemon
