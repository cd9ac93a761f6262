#!/usr/bin/python3
"""A TCP hole punch through a rendezvous server of your own (examples/rendezvous.py,
run by natlab as the strategy's server_command): connect to it from a port of our
own, learn the partner's public endpoint, dial it from the same port at the moment
the server answers both. Exit 0 when the partner's hello came back."""
import json, os, socket, sys, time

env = os.environ
deadline = time.time() + float(env["NATLAB_DEADLINE_S"])


def bound(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("0.0.0.0", port))
    return s


try:
    rv = bound(0)
    rv.settimeout(deadline - time.time())
    rv.connect((env["NATLAB_SERVER_ADDR"], int(sys.argv[1])))
    rv.sendall(env["NATLAB_ATTEMPT"].encode() + b"\n")
    addr, port = rv.makefile().readline().split()
    # the port the server saw us from, its NAT mapping open: the partner dials it
    while True:
        if time.time() >= deadline:
            raise TimeoutError("no connection by the deadline")
        s = bound(rv.getsockname()[1])
        s.settimeout(max(0.01, deadline - time.time()))
        try:
            s.connect((addr, int(port)))
            break
        except ConnectionRefusedError:  # an RST from the partner's NAT: again
            s.close()
            time.sleep(0.01)
    s.sendall(b"hello from %s\n" % env["NATLAB_NODE"].encode())
    ok = s.recv(64).startswith(b"hello from " + env["NATLAB_PEER"].encode())
except OSError as e:
    print(json.dumps({"error": e.strerror or str(e)}))
    sys.exit(1)
print(json.dumps({"path": "direct"}))
sys.exit(0 if ok else 1)
