#include <fcntl.h>
#include <unistd.h>

#include "outfile.h"

int outfile_open(const char *path, int flags, mode_t mode)
{
	return open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | flags, mode);
}

FILE *outfile_fopen(const char *path, mode_t mode)
{
	int fd = outfile_open(path, O_TRUNC, mode);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (fd >= 0 && !f)
		close(fd);
	return f;
}
