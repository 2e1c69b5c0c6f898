/* libcertkey-pcsc-count.so: counts every SCard* call a process makes through libpcsclite
 * (docs/benchmarks.md, "PC/SC calls"). Preloaded, it stands in front of libpcsclite for every
 * module that links it; OpenSC, which opens its PC/SC library itself, is pointed at it by
 * its provider_library setting. Each call goes on to the real libpcsclite.so.1. */
#ifndef CERTKEY_PCSC_COUNT_H
#define CERTKEY_PCSC_COUNT_H

#ifdef __cplusplus
extern "C" {
#endif

/* How many functions are counted, and the name of the i-th ("SCardTransmit"). */
int certkey_pcsc_functions(void);
const char* certkey_pcsc_function_name(int i);
/* Calls of the i-th function so far, in all threads. */
unsigned long certkey_pcsc_calls(int i);

#ifdef __cplusplus
}
#endif

#endif
