/* Frames that wait, in heaps by time: those to send, those to record. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static bool earlier(const struct frame *a, const struct frame *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

int heap_push(struct heap *h, struct frame *f)
{
	size_t i;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 1024;
		struct frame **v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			return -1;
		h->v = v;
		h->cap = cap;
	}
	i = h->n++;
	while (i && earlier(f, h->v[(i - 1) / 2])) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = f;
	return 0;
}

struct frame *heap_pop(struct heap *h)
{
	struct frame *top = h->v[0], *last = h->v[--h->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && earlier(h->v[c + 1], h->v[c]))
			c++;
		if (!earlier(h->v[c], last))
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = last;
	return top;
}

struct frame *frame_new(struct wire *w, const struct virtio_net_hdr *vh,
			const unsigned char *data, size_t len)
{
	struct frame *f = malloc(sizeof(*f) + len);

	if (!f)
		return NULL;
	memcpy(f->data, data, len);
	f->len = (uint32_t)len;
	f->vh = *vh;
	f->seq = w->seq++;
	f->kind = EV_NONE;
	f->lost = false;
	f->at_once = false;
	return f;
}
