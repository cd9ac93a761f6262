#ifndef NATLAB_PROBE_H
#define NATLAB_PROBE_H

#define PROBE_PORT 3478

int server_main(int argc, char *argv[]);
int peer_main(int argc, char *argv[]);

#endif
