/*
 * ck-ring: Concurrency Kit's bounded ring in its multi-producer,
 * multi-consumer form (ck_ring_enqueue_mpmc / ck_ring_dequeue_mpmc) on an
 * array of ck_ring_buffer_t, the peer baseline for ring-mpmc.  Items travel
 * as the pointer-sized slot value.
 *
 * ck keeps a producer head, a producer tail and a consumer head.  A producer
 * claims a position with a CAS on the producer head after comparing it with
 * the consumer head (full?), copies the item in, waits until the producer
 * tail reaches its position and then advances it, so producers commit in
 * order; a consumer reads the producer tail (empty?), copies the slot out and
 * claims the position with a CAS on the consumer head, discarding the copy
 * when the CAS fails.  A ring of size N holds N - 1 items, so the ring is
 * sized to the power of two above --capacity: it holds at least that many.
 *
 * Ordering: ck's own (ck_pr fences around the slot copy; nothing on x86).
 * ck implements its atomics in inline assembly that ThreadSanitizer cannot
 * see, and its consumers copy a slot before they own it, so a
 * ThreadSanitizer build would report races that are not bugs of the ring;
 * such a build reports the primitive unsupported instead.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <ck_ring.h>

#include "primitives/prim.h"
#include "util/tsan.h"
#include "util/atomics.h"


#define CKR_MAX_CAPACITY (1u << 30)

struct ckr {
	alignas(SL_SLOT_ALIGN) ck_ring_t ring; /* ck pads its own indices */
	alignas(SL_SLOT_ALIGN) ck_ring_buffer_t *buf;
};

static int ckr_init(void *obj, const struct sl_prim_conf *conf,
		    struct sl_err *err)
{
	struct ckr *q = obj;
	unsigned size = 2;

	if (conf->capacity == 0 || conf->capacity > CKR_MAX_CAPACITY)
		return sl_err_set(err, -EINVAL,
				  "ck-ring: capacity '%u' is out of range (accepted: 1..%u)",
				  conf->capacity, CKR_MAX_CAPACITY);
	while (size - 1 < conf->capacity)
		size <<= 1;
	q->buf = aligned_alloc(SL_SLOT_ALIGN,
			       SL_ROUND_UP(size * sizeof(*q->buf), SL_SLOT_ALIGN));
	if (!q->buf)
		return sl_err_set(err, -ENOMEM, "ck-ring: out of memory for %u slots", size);
	for (unsigned i = 0; i < size; i++)
		q->buf[i].value = NULL;
	ck_ring_init(&q->ring, size);
	return 0;
}

static void ckr_destroy(void *obj)
{
	struct ckr *q = obj;

	free(q->buf);
	q->buf = NULL;
}

static bool ckr_enqueue(void *obj, void *tctx, uint64_t item)
{
	struct ckr *q = obj;

	(void)tctx;
	return ck_ring_enqueue_mpmc(&q->ring, q->buf, (const void *)(uintptr_t)item);
}

static bool ckr_dequeue(void *obj, void *tctx, uint64_t *item)
{
	struct ckr *q = obj;
	void *v;

	(void)tctx;
	if (!ck_ring_dequeue_mpmc(&q->ring, q->buf, &v))
		return false;
	*item = (uint64_t)(uintptr_t)v;
	return true;
}

static int ckr_check(void *obj, struct sl_err *err)
{
	struct ckr *q = obj;
	unsigned n = ck_ring_size(&q->ring);

	if (n >= ck_ring_capacity(&q->ring))
		return sl_err_set(err, -EPROTO, "ck-ring: %u items in a ring of %u slots",
				  n, ck_ring_capacity(&q->ring));
	return 0;
}

static bool ckr_supported(char *why, size_t n)
{
#ifdef SL_TSAN
	snprintf(why, n, "not under ThreadSanitizer: ck's inline-assembly atomics are invisible to it");
	return false;
#else
	(void)why;
	(void)n;
	return true;
#endif
}

const struct sl_prim sl_prim_ck_ring = {
	.name = "ck-ring",
	.family = "baseline",
	.kind = SL_KIND_QUEUE,
	.summary = "Concurrency Kit's bounded MPMC ring (ck_ring_*_mpmc), the peer of ring-mpmc",
	.flags = SL_PRIM_BASELINE,
	.obj_size = sizeof(struct ckr),
	.init = ckr_init,
	.destroy = ckr_destroy,
	.queue = { .enqueue = ckr_enqueue, .dequeue = ckr_dequeue },
	.check = ckr_check,
	.supported = ckr_supported,
};
