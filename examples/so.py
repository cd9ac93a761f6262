#!/usr/bin/python3
"""A TCP simultaneous open as natlab's own `so` does it, as a user's program:
bind the port the rendezvous server saw, dial the partner's public endpoint at
the agreed instant, swap a hello. Exit 0 when the partner's hello came back."""
import json, os, socket, sys, time

env = os.environ
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("0.0.0.0", int(env["NATLAB_LOCAL_PORT"])))
time.sleep(max(0.0, float(env["NATLAB_START"]) - time.time()))  # started early (lead_ms)
s.settimeout(float(env["NATLAB_DEADLINE_S"]))
try:
    s.connect((env["NATLAB_PEER_ADDR"], int(env["NATLAB_PEER_PORT"])))
    s.sendall(b"hello from %s\n" % env["NATLAB_NODE"].encode())
    ok = s.recv(64).startswith(b"hello from " + env["NATLAB_PEER"].encode())
except OSError as e:
    print(json.dumps({"error": e.strerror or str(e)}))
    sys.exit(1)
print(json.dumps({"path": "direct"}))
sys.exit(0 if ok else 1)
