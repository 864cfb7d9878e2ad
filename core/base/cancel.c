/* cancel: see cancel.h. */
#include "cancel.h"
#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int cancel_init(struct cancel *c)
{
	atomic_store(&c->requested, 0);
	c->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return c->fd < 0 ? -errno : 0;
}

void cancel_destroy(struct cancel *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

void cancel_request(struct cancel *c)
{
	atomic_store(&c->requested, 1);
	uint64_t one = 1;
	if (c->fd >= 0) {
		ssize_t r = write(c->fd, &one, sizeof(one));
		(void)r; /* a full counter is readable already */
	}
}

int cancel_requested(const struct cancel *c)
{
	return c && atomic_load(&c->requested);
}

int cancel_fd(const struct cancel *c)
{
	return c ? c->fd : -1;
}
