/*
 * What every concurrent file needs: the cache-line size used for padding and
 * the spin-wait hint.  Memory orders are always spelled out at the call site
 * with <stdatomic.h>; nothing here hides them.
 */
#ifndef SL_UTIL_ATOMICS_H
#define SL_UTIL_ATOMICS_H

#include <stdalign.h>
#include <stdatomic.h>

/*
 * 64 bytes is the coherence unit on x86-64 and most arm64 parts.  Adjacent-line
 * prefetchers on Intel pull pairs of lines, so the hottest per-thread slots use
 * SL_SLOT_ALIGN (two lines) to keep neighbours from sharing a prefetch pair.
 */
#define SL_CACHELINE 64
#define SL_SLOT_ALIGN 128

/* Tell the CPU this is a spin-wait loop: frees pipeline resources for an SMT
 * sibling and avoids the memory-order mis-speculation flush on loop exit. */
static inline void sl_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ __volatile__("pause" ::: "memory");
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

/* Keep a value alive without emitting any instruction: the compiler must
 * assume the asm reads it. */
#define sl_sink(v) __asm__ __volatile__("" : : "r"(v) : "memory")

/* A seq_cst fence.  ThreadSanitizer does not model fences, and gcc says so
 * (-Wtsan) wherever one survives inlining; every access these fences order
 * is itself atomic, so the sanitizer has no plain access to misjudge, and
 * the note is silenced here, for this one statement. */
static inline void sl_fence_seq_cst(void)
{
#if defined(__SANITIZE_THREAD__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtsan"
#endif
	atomic_thread_fence(memory_order_seq_cst);
#if defined(__SANITIZE_THREAD__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
}

#define SL_ROUND_UP(n, a) (((n) + (a) - 1) / (a) * (a))

#endif
