/*
 * Per-thread records that threads claim and hand back: a push-only list
 * (records are never unlinked while the object lives) whose entries carry
 * an `active` flag.  queue-ms keeps its hazard pointers and retire lists
 * in them, the workqueues their flush counts.  A thread claims an idle
 * record in thread_init and releases it in thread_fini; a record outlives
 * its thread, so what the thread left in it (a retire list, a count) goes
 * to the next owner.
 *
 * Ordering: the push is a release CAS (acq_rel, so a push carries the
 * records below it too) and walkers load the head with acquire: a walker
 * sees each record's contents and next pointer as they were published.
 * The claim CAS is acquire and pairs with the release store of the
 * previous owner's sl_record_release: its last use of the record happens
 * before the new owner's first.
 */
#ifndef SL_PRIMITIVES_RECORDS_H
#define SL_PRIMITIVES_RECORDS_H

#include <stdatomic.h>
#include <stdbool.h>

/* Link record r (a pointer to a struct with a `next` member) at the head
 * of the list whose head is the atomic pointer *head. */
#define SL_RECORD_PUSH(head, r)                                                \
	do {                                                                   \
		__typeof__(r) old_ = atomic_load_explicit((head),              \
							   memory_order_relaxed); \
		do                                                             \
			(r)->next = old_;                                      \
		while (!atomic_compare_exchange_weak_explicit(                 \
			(head), &old_, (r), memory_order_acq_rel,              \
			memory_order_relaxed));                                \
	} while (0)

/* Take an idle record: true when this thread now owns it. */
static inline bool sl_record_claim(_Atomic int *active)
{
	int idle = 0;

	/* acquire: pairs with the release in sl_record_release */
	return atomic_load_explicit(active, memory_order_relaxed) == 0 &&
	       atomic_compare_exchange_strong_explicit(active, &idle, 1,
						       memory_order_acquire,
						       memory_order_relaxed);
}

/* Hand the record back, with everything this thread left in it. */
static inline void sl_record_release(_Atomic int *active)
{
	atomic_store_explicit(active, 0, memory_order_release);
}

#endif
