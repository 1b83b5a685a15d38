/* Unix sockets at filesystem paths for daemons. */
#ifndef HWM_UNIXSOCK_H
#define HWM_UNIXSOCK_H

/* A non-blocking, close-on-exec socket of type (SOCK_DGRAM, SOCK_STREAM)
 * bound at path. Creates the parent directory, replaces a stale socket a
 * crashed run left behind, and refuses (-EEXIST) to remove anything at path
 * that is not a socket. */
int unixsock_bind(const char *path, int type, int *ret_fd);

#endif
