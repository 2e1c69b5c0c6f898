// Gathers what the diagnosis judges (diagnosis.hpp): pcscd and its readers through PC/SC,
// each token through its own worker (so the answer is fresh, and a token busy with another
// operation is reported as such rather than waited for), and each certificate's chain and
// revocation. Runs on the background worker: it waits on pcscd, tokens and the network.
#pragma once
#include "../core/command.hpp"
#include "diagnosis.hpp"

namespace certkey::daemon {

DiagnosisFacts gather_facts(Services& services);
// The certificates of every token (or of one), with their chain and revocation status.
std::vector<CertificateFacts> certificate_facts(Services& services,
                                                const std::vector<TokenState>& tokens);

}  // namespace certkey::daemon
