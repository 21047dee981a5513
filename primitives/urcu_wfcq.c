/*
 * urcu-wfcq: liburcu's wait-free concurrent queue (<urcu/wfcqueue.h>), the
 * peer baseline for queue-ms.  One node is allocated per item and freed by
 * the consumer after the dequeue, as queue-ms does.
 *
 * Enqueue is wait-free: one exchange on the tail, then a store linking the
 * old tail to the new node.  cds_wfcq_dequeue_blocking serialises the
 * consumers with the queue's own pthread mutex; a consumer that finds an
 * enqueue half done (tail swapped, link not yet stored) waits for the link,
 * spinning a little and then sleeping 10 ms at a time in poll(), which a
 * preempted producer can make it do under oversubscription.
 *
 * The queue functions are called from liburcu-cds (no _LGPL_SOURCE), as a
 * program that is not LGPL-licensed must call them; each op is one call
 * into the shared library.
 *
 * Ordering: liburcu's own (the exchange is a full barrier; the consumer's
 * mutex orders the consumers).  The library is not instrumented, so a
 * ThreadSanitizer build is told of the one ordering the harness relies on:
 * a release on the node before it is enqueued and an acquire on it after it
 * is dequeued, so the item written into the node is seen by its consumer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/wfcqueue.h>

#include "primitives/prim.h"
#include "util/tsan.h"
#include "util/atomics.h"


struct wfcq_item {
	struct cds_wfcq_node node;
	uint64_t value;
};

struct wfcq {
	alignas(SL_SLOT_ALIGN) struct cds_wfcq_head head; /* consumers' side */
	alignas(SL_SLOT_ALIGN) struct cds_wfcq_tail tail; /* producers' side */
};

static int wfcq_init(void *obj, const struct sl_prim_conf *conf,
		     struct sl_err *err)
{
	struct wfcq *q = obj;

	(void)conf;
	(void)err;
	cds_wfcq_init(&q->head, &q->tail);
	return 0;
}

static void wfcq_destroy(void *obj)
{
	struct wfcq *q = obj;
	struct cds_wfcq_node *n;

	while ((n = cds_wfcq_dequeue_blocking(&q->head, &q->tail)))
		free(caa_container_of(n, struct wfcq_item, node));
	cds_wfcq_destroy(&q->head, &q->tail);
}

static bool wfcq_enqueue(void *obj, void *tctx, uint64_t item)
{
	struct wfcq *q = obj;
	struct wfcq_item *it = malloc(sizeof(*it));

	(void)tctx;
	if (!it)
		return false;
	cds_wfcq_node_init(&it->node);
	it->value = item;
	sl_tsan_release(it);
	cds_wfcq_enqueue(&q->head, &q->tail, &it->node);
	return true;
}

static bool wfcq_dequeue(void *obj, void *tctx, uint64_t *item)
{
	struct wfcq *q = obj;
	struct cds_wfcq_node *n = cds_wfcq_dequeue_blocking(&q->head, &q->tail);
	struct wfcq_item *it;

	(void)tctx;
	if (!n)
		return false;
	it = caa_container_of(n, struct wfcq_item, node);
	sl_tsan_acquire(it);
	*item = it->value;
	free(it);
	return true;
}

const struct sl_prim sl_prim_urcu_wfcq = {
	.name = "urcu-wfcq",
	.family = "baseline",
	.kind = SL_KIND_QUEUE,
	.summary = "liburcu's wait-free concurrent queue (cds_wfcq), the peer of queue-ms",
	.flags = SL_PRIM_BASELINE | SL_PRIM_SLEEPS,
	.obj_size = sizeof(struct wfcq),
	.init = wfcq_init,
	.destroy = wfcq_destroy,
	.queue = { .enqueue = wfcq_enqueue, .dequeue = wfcq_dequeue },
};
