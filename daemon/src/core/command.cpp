#include "command.hpp"

#include "../views/text.hpp"

namespace certkey::daemon {

CommandResult json_result(const nlohmann::json& value, unsigned status) {
  return {status, std::make_shared<const std::string>(json_text(value)), false};
}

CommandReply CommandReply::failure(ErrorCode code, const std::string& detail) {
  CommandReply reply;
  reply.status = error_info(code).http_status;
  reply.body = std::make_shared<const std::string>(json_text(error_body(code, detail)));
  reply.error = code;
  return reply;
}

}  // namespace certkey::daemon
