// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "detach.h"

/*
 * Destroying a uprobe link waits for an RCU grace period (100 ms or more
 * here, each): a run of many test binaries would pile those up at the end,
 * or stall the event loop while processes wait stopped. Links whose
 * executable no process of the tree runs any more go to this thread.
 */
struct detacher {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct detach_item *q;
	int n, cap;
	bool quit;
};

static void *detach_main(void *arg)
{
	struct detacher *d = arg;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		while (!d->n && !d->quit)
			pthread_cond_wait(&d->cond, &d->lock);
		if (!d->n)
			break;
		{
			struct detach_item it = d->q[--d->n];

			pthread_mutex_unlock(&d->lock);
			detach_item_destroy(it);
			pthread_mutex_lock(&d->lock);
		}
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

void detach_item_destroy(struct detach_item it)
{
	if (it.link)
		bpf_link__destroy(it.link);
	else if (it.fd >= 0)
		close(it.fd);
}

struct detacher *detacher_new(void)
{
	struct detacher *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	if (pthread_create(&d->thread, NULL, detach_main, d)) {
		free(d);
		return NULL;
	}
	return d;
}

/* false: not queued (no thread, no memory): the caller destroys it. */
bool detacher_push(struct detacher *d, struct detach_item it)
{
	bool ok = false;

	if (!d)
		return false;
	pthread_mutex_lock(&d->lock);
	if (d->n < d->cap || (d->q = realloc(d->q, (d->cap = d->cap * 2 + 16) * sizeof(*d->q)))) {
		d->q[d->n++] = it;
		ok = true;
		pthread_cond_signal(&d->cond);
	}
	pthread_mutex_unlock(&d->lock);
	return ok;
}

static void *destroy_one(void *it)
{
	detach_item_destroy(*(struct detach_item *)it);
	return NULL;
}

/* The uprobe links left at the end, each on its own thread: their grace
 * periods overlap instead of adding up. */
void destroy_parallel(struct detach_item *items, int n)
{
	pthread_t th[n > 0 ? n : 1];
	bool started[n > 0 ? n : 1];

	for (int i = 0; i < n; i++)
		started[i] = !pthread_create(&th[i], NULL, destroy_one, &items[i]);
	for (int i = 0; i < n; i++)
		if (started[i])
			pthread_join(th[i], NULL);
		else
			detach_item_destroy(items[i]);
}

/* Stop the thread; what it had not begun is destroyed in parallel. */
void detacher_free(struct detacher *d)
{
	struct detach_item *left;
	int n;

	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->quit = true;
	left = d->q;
	n = d->n;
	d->q = NULL;
	d->n = d->cap = 0;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	destroy_parallel(left, n);
	free(left);
	free(d);
}


void detacher_fork_prepare(struct detacher *d)
{
	if (d)
		pthread_mutex_lock(&d->lock);
}

void detacher_fork_parent(struct detacher *d)
{
	if (d)
		pthread_mutex_unlock(&d->lock);
}

void detacher_fork_child_free(struct detacher *d)
{
	if (!d)
		return;
	destroy_parallel(d->q, d->n);
	free(d->q);
	free(d); /* its mutex is this child's to drop: no thread waits on it */
}
