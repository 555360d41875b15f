/* Shared fixtures for the cmocka tests. */
#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testsupport.h"

char *ts_mkdtemp(const char *tag)
{
	char tmpl[256];
	char *dir;
	snprintf(tmpl, sizeof(tmpl), "/tmp/rigtest-%s-XXXXXX", tag);
	dir = mkdtemp(tmpl);
	return dir ? strdup(dir) : NULL;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void ts_rmtree(const char *path)
{
	if (path)
		nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

unsigned short ts_free_port(void)
{
	struct sockaddr_in addr = {0};
	socklen_t len = sizeof(addr);
	unsigned short port = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
		port = ntohs(addr.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}
