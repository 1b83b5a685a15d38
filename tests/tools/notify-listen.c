/* Test helper: a service-manager stand-in. Binds a unix datagram socket at
 * argv[1] and appends every message it receives to stdout, one per line,
 * until killed or argv[2] seconds pass. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t deadline;
	int fd;

	if (argc != 3 || util_strcpy_bounded(sa.sun_path, sizeof(sa.sun_path), argv[1]) < 0) {
		fprintf(stderr, "usage: notify-listen SOCKET SECONDS\n");
		return 2;
	}
	deadline = util_now_ms() + (uint64_t)atoi(argv[2]) * 1000;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unlink(argv[1]);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("notify-listen");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (util_now_ms() < deadline) {
		struct pollfd p = { fd, POLLIN, 0 };
		char buf[4096];
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		for (char *c = buf; *c; c++)
			if (*c == '\n')
				*c = ' ';
		printf("%s\n", buf);
	}
	unlink(argv[1]);
	return 0;
}
