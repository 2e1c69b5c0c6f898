// The language of what people read (the CLI's output, the desktop reminders): Chinese or
// English, chosen from the environment as strings (gettext's order: LANGUAGE, unless the
// locale is C, then LC_ALL, LC_MESSAGES, LANG). No std::locale is built, so a locale that is not
// generated on the machine still gives Chinese output (docs/cli.md).
#pragma once
#include <functional>
#include <string>

namespace certkey {

enum class Language { en, zh };

// `getenv` is the lookup (the real one, or a test's).
Language language_from(const std::function<const char*(const char*)>& getenv);
Language language_from_environment();

// One text in both languages, picked by the current language.
struct Text {
  const char* en;
  const char* zh;
  std::string in(Language l) const { return l == Language::zh ? zh : en; }
};

}  // namespace certkey
