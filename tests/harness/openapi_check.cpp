// openapi-check: validates a response body against the daemon's OpenAPI description, so the
// integration tests check the live API against the documented one.
//
//   openapi-check SPEC PATH METHOD STATUS BODY_FILE
//
// PATH is the template as written in the spec ("/v1/renewals/{id}"); "#error" for an error
// answer outside the documented paths (an unknown path), which must be the spec's Error
// schema whatever METHOD and STATUS; or a schema's reference ("#/components/schemas/
// EventMessage") to check a message of the WebSocket or unix socket against it (METHOD and
// STATUS are then ignored). Supports the subset of JSON Schema the spec uses: $ref (also
// for responses), type, required, properties, additionalProperties: false, items, enum,
// pattern, minimum, maximum, maxLength (in bytes: the daemon bounds UTF-8 bytes, which is
// stricter than characters). Exit status 0 when the body conforms, 1 with the reasons
// otherwise, 2 on a usage error.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

using nlohmann::json;

namespace {

const json* g_spec = nullptr;
std::vector<std::string> g_problems;

const json& resolve(const json& schema) {
  if (!schema.contains("$ref")) return schema;
  const std::string ref = schema["$ref"];
  const json* node = g_spec;
  std::string rest = ref.substr(2);  // "#/"
  for (std::size_t slash; !rest.empty();
       rest = slash == std::string::npos ? "" : rest.substr(slash + 1)) {
    slash = rest.find('/');
    node = &node->at(rest.substr(0, slash));
  }
  return resolve(*node);
}

bool has_type(const json& value, const std::string& type) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "integer") return value.is_number_integer();
  if (type == "number") return value.is_number();
  if (type == "boolean") return value.is_boolean();
  return false;
}

void check(const json& value, const json& raw_schema, const std::string& where);

// oneOf: exactly one alternative fits (each is checked on its own, its problems set aside).
void check_one_of(const json& value, const json& alternatives, const std::string& where) {
  std::vector<std::string> kept;
  kept.swap(g_problems);
  std::size_t fitting = 0;
  std::vector<std::string> reasons;
  for (std::size_t i = 0; i < alternatives.size(); ++i) {
    check(value, alternatives[i], where + "<" + std::to_string(i) + ">");
    if (g_problems.empty()) ++fitting;
    reasons.insert(reasons.end(), g_problems.begin(), g_problems.end());
    g_problems.clear();
  }
  kept.swap(g_problems);
  if (fitting == 1) return;
  g_problems.push_back(where + ": fits " + std::to_string(fitting) + " of the oneOf alternatives");
  if (fitting == 0) g_problems.insert(g_problems.end(), reasons.begin(), reasons.end());
}

void check(const json& value, const json& raw_schema, const std::string& where) {
  const json& schema = resolve(raw_schema);
  auto problem = [&](const std::string& what) { g_problems.push_back(where + ": " + what); };
  if (schema.contains("oneOf")) return check_one_of(value, schema["oneOf"], where);
  if (schema.contains("type") && !has_type(value, schema["type"]))
    return problem("not of type " + schema["type"].get<std::string>());
  if (schema.contains("enum") &&
      std::find(schema["enum"].begin(), schema["enum"].end(), value) == schema["enum"].end()) {
    problem("value " + value.dump() + " is not in the enum");
  }
  if (schema.contains("pattern") && value.is_string() &&
      !std::regex_search(value.get<std::string>(),
                         std::regex(schema["pattern"].get<std::string>()))) {
    problem("\"" + value.get<std::string>() + "\" does not match " +
            schema["pattern"].get<std::string>());
  }
  if (schema.contains("maxLength") && value.is_string() &&
      value.get<std::string>().size() > schema["maxLength"].get<std::size_t>()) {
    problem("longer than " + schema["maxLength"].dump());
  }
  if (schema.contains("minimum") && value.is_number() &&
      value.get<double>() < schema["minimum"].get<double>())
    problem("below minimum");
  if (schema.contains("maximum") && value.is_number() &&
      value.get<double>() > schema["maximum"].get<double>())
    problem("above maximum");
  if (value.is_object()) {
    for (const auto& name : schema.value("required", json::array())) {
      if (!value.contains(name.get<std::string>()))
        problem("missing required member " + name.dump());
    }
    const json properties = schema.value("properties", json::object());
    for (const auto& [name, member] : value.items()) {
      if (properties.contains(name)) {
        check(member, properties[name], where + "." + name);
      } else if (schema.contains("additionalProperties") &&
                 schema["additionalProperties"] == false) {
        problem("undocumented member \"" + name + "\"");
      }
    }
  }
  if (value.is_array() && schema.contains("items")) {
    for (std::size_t i = 0; i < value.size(); ++i)
      check(value[i], schema["items"], where + "[" + std::to_string(i) + "]");
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::cerr << "usage: openapi-check SPEC PATH METHOD STATUS BODY_FILE\n";
    return 2;
  }
  try {
    const json spec = json::parse(std::ifstream(argv[1]));
    g_spec = &spec;
    const json body = json::parse(std::ifstream(argv[5]));
    const std::string path = argv[2];
    if (path == "#error" || path.rfind("#/", 0) == 0) {
      check(
          body,
          path == "#error" ? spec.at("components").at("schemas").at("Error") : json{{"$ref", path}},
          "body");
      for (const std::string& p : g_problems) std::cerr << "openapi-check: " << p << "\n";
      return g_problems.empty() ? 0 : 1;
    }
    const json& operation = spec.at("paths").at(argv[2]).at(argv[3]);
    if (!operation.at("responses").contains(argv[4])) {
      std::cerr << "openapi-check: " << argv[3] << " " << argv[2] << " documents no status "
                << argv[4] << "\n";
      return 1;
    }
    check(
        body,
        resolve(operation["responses"][argv[4]]).at("content").at("application/json").at("schema"),
        "body");
  } catch (const json::exception& e) {
    std::cerr << "openapi-check: " << e.what() << "\n";
    return 1;
  }
  for (const std::string& p : g_problems) std::cerr << "openapi-check: " << p << "\n";
  return g_problems.empty() ? 0 : 1;
}
