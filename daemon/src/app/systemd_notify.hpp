// sd_notify(3) without libsystemd: tells a supervisor (systemd with Type=notify, or a test
// harness) that certkeyd is ready or stopping, through the datagram socket named in
// $NOTIFY_SOCKET. Without it, does nothing.
#pragma once

namespace certkey::daemon {

void notify_supervisor(const char* state);

}  // namespace certkey::daemon
