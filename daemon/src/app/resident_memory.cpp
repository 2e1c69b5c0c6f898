#include "resident_memory.hpp"

#include <sys/mman.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

namespace certkey::daemon {
namespace {

struct Mapping {
  unsigned long start = 0, end = 0;
  bool candidate = false;  // read-only, private, backed by a file
  long anonymous_kb = 0, dirty_kb = 0;

  void release() const {
    if (candidate && anonymous_kb == 0 && dirty_kb == 0) {
      ::madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED);
    }
  }
};

// "7f4a...-7f4a... r-xp 00000000 fe:01 1234   /usr/lib/.../libc.so.6": the header line of a
// mapping in smaps; the lines after it are "Name:   value kB".
bool parse_header(const std::string& line, Mapping& m) {
  char perms[5] = {};
  int path_at = 0;
  if (std::sscanf(line.c_str(), "%lx-%lx %4s %*s %*s %*s %n", &m.start, &m.end, perms, &path_at) !=
      3)
    return false;
  m.candidate = perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p' && path_at > 0 &&
                static_cast<std::size_t>(path_at) < line.size() &&
                line[static_cast<std::size_t>(path_at)] == '/';
  m.anonymous_kb = m.dirty_kb = 0;
  return true;
}

long field_kb(const std::string& line, const char* name) {
  const std::size_t length = std::strlen(name);
  return line.compare(0, length, name) == 0 ? std::strtol(line.c_str() + length, nullptr, 10) : -1;
}

}  // namespace

void release_clean_file_pages() {
  std::ifstream smaps("/proc/self/smaps");
  Mapping current;
  for (std::string line; std::getline(smaps, line);) {
    Mapping next;
    if (parse_header(line, next)) {
      current.release();
      current = next;
    } else if (const long kb = field_kb(line, "Anonymous:"); kb >= 0) {
      current.anonymous_kb = kb;
    } else if (const long dirty = field_kb(line, "Private_Dirty:"); dirty >= 0) {
      current.dirty_kb = dirty;
    }
  }
  current.release();
}

}  // namespace certkey::daemon
