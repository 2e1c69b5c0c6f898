// certkeyd's resident memory while it waits (bench/daemon measures it idle). Most of it is
// not the daemon's own: it is pages of shared libraries that start-up touched once (dynamic
// linking, OpenSSL's and SQLite's initialisation, the first certificates decoded) and the
// pages the kernel's fault-around mapped beside them. They are clean copies of the files on
// disk, so they can be given back and the kernel reads them in again, from its page cache,
// if they are ever needed.
#pragma once

namespace certkey::daemon {

// Unmaps the resident pages of clean, read-only, private file mappings (library code and
// constants). Mappings with any anonymous or dirty page, such as RELRO segments the dynamic
// linker wrote, are left alone: dropping those would lose what was written. Linux only;
// costs a read of /proc/self/smaps, so it runs after work, not per request.
void release_clean_file_pages();

}  // namespace certkey::daemon
