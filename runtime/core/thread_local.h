// ACORN_THREAD_LOCAL: storage for per-thread scratch (the tokenizer's reusable buffers). Where the
// platform has threads it is thread_local; in builds without threads (ACORN_NO_THREADS, the
// baremetal platform) it is plain static storage, since such targets have no thread-local storage
// runtime (__tls_get_addr) and only one thread runs the library.
#pragma once

#if defined(ACORN_NO_THREADS)
#define ACORN_THREAD_LOCAL static
#else
#define ACORN_THREAD_LOCAL thread_local
#endif
