// The API's JSON views of the daemon's data (the schemas in daemon/openapi/certkey-v1.json).
// Every string that came from a token, a reader or a certificate passes display_text: valid
// UTF-8, cut on a character boundary at a documented length.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "../state/renewal_store.hpp"
#include "../tokens/token_registry.hpp"

namespace certkey::daemon {

// Bounds of the text fields (bytes), as the OpenAPI file states them.
inline constexpr std::size_t kMaxLabel = 64;
inline constexpr std::size_t kMaxReader = 128;
inline constexpr std::size_t kMaxName = 1024;  // subject and issuer
inline constexpr std::size_t kMaxShortText = 64;

nlohmann::json token_json(const TokenState& token);
// {"tokens": [...]} as text, made once per snapshot version.
std::shared_ptr<const std::string> token_list_text(
    const std::shared_ptr<const TokenSnapshot>& snapshot);
// A renewal with its request and authorization once they exist (the Renewal schema).
nlohmann::json renewal_json(const Renewal& renewal);

}  // namespace certkey::daemon
