#include "views/language.hpp"

#include <algorithm>
#include <cstdlib>
#include <string_view>

namespace certkey {
namespace {

bool set(const char* value) { return value && *value; }

// "zh_CN.UTF-8", "zh_TW", "zh" are Chinese; anything else is English.
bool is_chinese(std::string_view name) {
  return name.substr(0, 2) == "zh" &&
         (name.size() == 2 || name[2] == '_' || name[2] == '.' || name[2] == '@');
}

}  // namespace

Language language_from(const std::function<const char*(const char*)>& getenv) {
  const char* locale = nullptr;
  for (const char* name : {"LC_ALL", "LC_MESSAGES", "LANG"}) {
    if (set(getenv(name))) {
      locale = getenv(name);
      break;
    }
  }
  const std::string_view chosen = locale ? locale : "C";
  // LANGUAGE is a priority list ("zh_CN:en"), and gettext ignores it in the C locale.
  if (const char* list = getenv("LANGUAGE"); set(list) && chosen != "C" && chosen != "POSIX") {
    std::string_view rest = list;
    while (!rest.empty()) {
      const std::string_view entry = rest.substr(0, rest.find(':'));
      if (is_chinese(entry)) return Language::zh;
      if (entry.substr(0, 2) == "en") return Language::en;
      rest.remove_prefix(std::min(rest.size(), entry.size() + 1));
    }
  }
  return is_chinese(chosen) ? Language::zh : Language::en;
}

Language language_from_environment() {
  return language_from([](const char* name) { return std::getenv(name); });
}

}  // namespace certkey
