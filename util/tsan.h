/*
 * ThreadSanitizer awareness for primitives whose synchronization TSan cannot
 * see (inline-assembly atomics in concurrencykit, liburcu's uninstrumented
 * library).  SL_TSAN is defined in TSan builds (gcc or clang); there the
 * annotations state a happens-before edge by hand -- a release joins the
 * calling thread's history into the object's, an acquire takes all of it --
 * and elsewhere they compile to nothing.
 */
#ifndef SL_UTIL_TSAN_H
#define SL_UTIL_TSAN_H

#if defined(__SANITIZE_THREAD__)
#define SL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SL_TSAN 1
#endif
#endif

#ifdef SL_TSAN
#include <sanitizer/tsan_interface.h>
#define sl_tsan_acquire(p) __tsan_acquire(p)
#define sl_tsan_release(p) __tsan_release(p)
#else
#define sl_tsan_acquire(p) ((void)(p))
#define sl_tsan_release(p) ((void)(p))
#endif

#endif
