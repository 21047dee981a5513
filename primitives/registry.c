/* Expands registry.def into the table every lookup goes through. */
#include "primitives/prim.h"

#include <errno.h>
#include <string.h>

#include "util/atomics.h"
#include "util/opt.h"

#define SL_PRIM(c_name) extern const struct sl_prim sl_prim_##c_name;
#include "primitives/registry.def"
#undef SL_PRIM

static const struct sl_prim *const registry[] = {
#define SL_PRIM(c_name) &sl_prim_##c_name,
#include "primitives/registry.def"
#undef SL_PRIM
};

#define REGISTRY_SIZE (sizeof(registry) / sizeof(registry[0]))

size_t sl_prim_count(void)
{
	return REGISTRY_SIZE;
}

const struct sl_prim *sl_prim_at(size_t i)
{
	return i < REGISTRY_SIZE ? registry[i] : NULL;
}

int sl_prim_name_width(void)
{
	size_t w = 0;

	for (size_t i = 0; i < REGISTRY_SIZE; i++)
		if (strlen(registry[i]->name) > w)
			w = strlen(registry[i]->name);
	return (int)w;
}

const struct sl_prim *sl_prim_find(const char *name)
{
	for (size_t i = 0; i < REGISTRY_SIZE; i++) {
		const struct sl_prim *p = registry[i];

		if (strcmp(p->name, name) == 0 ||
		    (p->alias && strcmp(p->alias, name) == 0))
			return p;
	}
	return NULL;
}

const char *sl_prim_suggest(const char *name)
{
	const char *names[REGISTRY_SIZE];
	size_t n = 0;

	for (size_t i = 0; i < REGISTRY_SIZE; i++)
		if (!(registry[i]->flags & SL_PRIM_HIDDEN))
			names[n++] = registry[i]->name;
	return sl_suggest(name, names, n);
}

int sl_prim_parse_list(const char *list, const char *see,
		       const struct sl_prim **out, unsigned *n, unsigned max,
		       struct sl_err *err)
{
	char buf[1024], *save = NULL, *tok;

	if (strlen(list) >= sizeof(buf))
		return sl_err_set(err, -EINVAL, "primitive list too long (accepted: up to %zu characters)",
				  sizeof(buf) - 1);
	strcpy(buf, list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const struct sl_prim *p = sl_prim_find(tok);
		const char *close;

		if (!p) {
			close = sl_prim_suggest(tok);
			if (close)
				return sl_err_set(err, -EINVAL,
						  "unknown primitive '%s' (did you mean '%s'?)",
						  tok, close);
			return sl_err_set(err, -EINVAL, "unknown primitive '%s' (see '%s')",
					  tok, see);
		}
		for (unsigned k = 0; k < *n; k++) {
			if (out[k] != p)
				continue;
			if (strcmp(tok, p->name))
				return sl_err_set(err, -EINVAL,
						  "primitive '%s' named twice (as '%s') (accepted: each primitive once)",
						  p->name, tok);
			return sl_err_set(err, -EINVAL,
					  "primitive '%s' named twice (accepted: each primitive once)",
					  p->name);
		}
		if (*n == max)
			return sl_err_set(err, -EINVAL, "more than %u primitives (accepted: up to %u)",
					  max, max);
		out[(*n)++] = p;
	}
	return 0;
}

const char *sl_prim_kind_name(enum sl_prim_kind kind)
{
	static const char *const names[SL_KIND_COUNT_] = {
		[SL_KIND_LOCK] = "lock",       [SL_KIND_RWLOCK] = "rwlock",
		[SL_KIND_RCU] = "rcu",         [SL_KIND_QUEUE] = "queue",
		[SL_KIND_BARRIER] = "barrier", [SL_KIND_SEM] = "sem",
		[SL_KIND_CONDVAR] = "condvar", [SL_KIND_LAB] = "lab", [SL_KIND_WORKQUEUE] = "workqueue",
	};

	return (unsigned)kind < SL_KIND_COUNT_ ? names[kind] : "?";
}

size_t sl_prim_obj_stride(const struct sl_prim *p)
{
	size_t n = p->obj_size ? p->obj_size : 1;

	return SL_ROUND_UP(n, SL_SLOT_ALIGN);
}

size_t sl_prim_tctx_stride(const struct sl_prim *p)
{
	size_t n = p->tctx_size ? p->tctx_size : 1;

	return SL_ROUND_UP(n, SL_SLOT_ALIGN);
}

unsigned sl_prim_event_count(const struct sl_prim *p)
{
	unsigned n = 0;

	if (!p->events)
		return 0;
	while (n < SL_PRIM_EVENTS && p->event_names[n])
		n++;
	return n;
}
