// Certificate renewal on the token (docs/daemon.md, "Renewals"): the first half makes a new
// key pair in a free retired key slot and a PKCS#10 request for it, signed on the token; the
// second writes the CA's certificate beside the new key. The old key and certificate are not
// touched, so the holder is never without a working certificate.
#pragma once
#include <string>
#include <vector>

#include "../state/renewal_store.hpp"
#include "token_work.hpp"

namespace certkey::daemon {

// Records the renewal (with its key slot) before the key is made; if anything fails after
// that, the key pair is destroyed and the record removed. Throws ApiError.
Renewal begin_renewal(TokenWork& work, RenewalStore& renewals, const std::string& certificate_id,
                      const std::string& origin);
// Checks that the certificate certifies the renewal's key, writes it, reads it back, and
// ends the renewal. Throws ApiError.
void complete_renewal(TokenWork& work, RenewalStore& renewals, const Renewal& renewal,
                      const std::vector<std::uint8_t>& certificate_der);

}  // namespace certkey::daemon
