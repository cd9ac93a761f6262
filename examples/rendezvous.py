#!/usr/bin/python3
"""A rendezvous server of your own, as natlab runs it ([strategy.NAME]
server_command): on the rendezvous host, for the lab's attempts. Each peer
connects, says its attempt's id; once both sides of an attempt have, each is told
the other's public endpoint as this server saw it, "ADDR PORT", at the same moment.
Listens on NATLAB_SERVER_PORT; natlab starts the attempts once it does."""
import os, socket, threading

waiting = {}  # attempt -> (connection, its endpoint)
lock = threading.Lock()


def serve(conn, peer):
    attempt = conn.makefile().readline().strip()
    with lock:
        other = waiting.pop(attempt, None)
        if other is None:
            waiting[attempt] = (conn, peer)  # the partner's thread answers both
    if other is not None:
        for c, ep in ((conn, other[1]), (other[0], peer)):
            c.sendall(b"%s %d\n" % (ep[0].encode(), ep[1]))
    # open until the peer closes it, when its punch is over: its NAT's mapping
    # stays as the partner was told
    while conn.recv(64):
        pass
    conn.close()


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((os.environ["NATLAB_SERVER_ADDR"], int(os.environ["NATLAB_SERVER_PORT"])))
srv.listen(64)
os.write(1, b"rendezvous: listening on %s:%s\n" % (os.environ["NATLAB_SERVER_ADDR"].encode(),
                                                 os.environ["NATLAB_SERVER_PORT"].encode()))
while True:
    threading.Thread(target=serve, args=srv.accept(), daemon=True).start()
