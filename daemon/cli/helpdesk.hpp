// `certkey helpdesk`: the help desk's commands for remote unlock (docs/unlock.md section 8).
// They use the HSM that holds the CA's master key, never certkeyd or a token.
#pragma once
#include <string>
#include <vector>

#include "views/language.hpp"

namespace certkey::cli {

// `args` follow the word "helpdesk". Returns the exit status (docs/cli.md).
int helpdesk_main(const std::vector<std::string>& args, Language l);

}  // namespace certkey::cli
