"""natlab from Python: bring a lab up, run programs in its nodes, read its NATs'
mappings, rulesets and capture, take it down. Every call goes through the
`natlab` command (its JSON where it has one), so the API is what the CLI does.

    import natlab

    with natlab.Lab("scenario.ini") as lab:          # or a dict of sections
        srv = lab.node("a").popen("python3", "-m", "http.server", "8000")
        out = lab.node("rv").exec("curl", "-m", "2", "http://198.19.0.1:8000/", check=False)
        print(lab.mappings("home1"))
    # down: every process started here ended, namespaces and files gone

The pytest fixtures are in natlab.pytest_plugin. Needs root, as natlab does.
"""
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass

__all__ = ["Lab", "Node", "Process", "Mapping", "NatlabError", "binary", "command", "scenario_text"]

_CLONE_NEWNET = 0x40000000
_HERE = os.path.dirname(os.path.abspath(__file__))


class NatlabError(RuntimeError):
    """A natlab command failed; the message is its own one-line error."""


def binary():
    """The natlab command: $NATLAB, the installed one (make install writes its
    path beside this file), the checkout's build/natlab, or natlab on PATH."""
    if os.environ.get("NATLAB"):
        return os.environ["NATLAB"]
    try:
        from ._install import BINDIR  # written by make install
        return os.path.join(BINDIR, "natlab")
    except ImportError:
        pass
    checkout = os.path.join(os.path.dirname(os.path.dirname(_HERE)), "build", "natlab")
    if os.access(checkout, os.X_OK):
        return checkout
    found = shutil.which("natlab")
    if not found:
        raise NatlabError("no natlab command: build it (make), install it (make install) or set NATLAB")
    return found


def command(*args, check=True, timeout=120):
    """Runs `natlab ARGS...`; the CompletedProcess (text). check: a non-zero exit
    raises NatlabError with natlab's own message."""
    argv = [binary(), *map(str, args)]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except BaseException:
        # a timeout or ^C: SIGTERM, on which natlab up takes down what it built
        # (SIGKILL would leave a half-built lab whose name we never learned)
        p.terminate()
        try:
            p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
        raise
    r = subprocess.CompletedProcess(argv, p.returncode, out, err)
    if check and r.returncode:
        msg = r.stderr.strip().splitlines()
        raise NatlabError(msg[-1] if msg else f"natlab {args[0]}: exit {r.returncode}")
    return r


def scenario_text(sections):
    """A scenario file's text from a dict of sections, in order:
    {"nat.home1": {"profile": "full-cone"}, "host.a": {"behind": "home1"}}."""
    out = []
    for name, keys in sections.items():
        out.append(f"[{name}]")
        for k, v in (keys or {}).items():
            if isinstance(v, bool):
                v = "on" if v else "off"
            elif isinstance(v, (list, tuple)):
                v = ", ".join(map(str, v))
            out.append(f"{k} = {v}")
        out.append("")
    return "\n".join(out)


def _endpoint(text):
    if not text or ":" not in text:
        return None
    host, port = text.rsplit(":", 1)
    return (host, int(port))


@dataclass(frozen=True)
class Mapping:
    """One NAT mapping (a conntrack entry) as `natlab show` gives it; endpoints
    are (address, port)."""
    proto: str
    internal: tuple
    external: tuple
    remote: tuple
    inbound: bool
    state: str
    timeout: int

    @classmethod
    def of(cls, m):
        return cls(m.get("proto"), _endpoint(m.get("internal")), _endpoint(m.get("external")),
                   _endpoint(m.get("remote")), bool(m.get("inbound")), m.get("state"), m.get("timeout"))


def _env(more):
    # added to ours: natlab exec itself needs NATLAB_RUN_DIR, PATH and the rest
    return None if more is None else {**os.environ, **{k: str(v) for k, v in more.items()}}


_libc = ctypes.CDLL(None, use_errno=True)
_setns_lock = threading.Lock()


class Process:
    """A program started in a node by Node.popen: its output goes to files (a pipe
    nobody reads would stop it), read with output(); ended by stop() or at the
    lab's down."""

    def __init__(self, argv, netns_cmd, env, cwd):
        self.argv = argv
        self._out = tempfile.TemporaryFile()
        self._err = tempfile.TemporaryFile()
        self.popen = subprocess.Popen(netns_cmd, stdin=subprocess.DEVNULL, stdout=self._out,
                                      stderr=self._err, env=env, cwd=cwd, start_new_session=True)
        self.pid = self.popen.pid

    @property
    def returncode(self):
        return self.popen.poll()

    def wait(self, timeout=None):
        return self.popen.wait(timeout)

    def output(self):
        """(stdout, stderr) so far, as text."""
        res = []
        for f in (self._out, self._err):
            # pread: the program shares the file's offset, which a seek would move
            chunks, off = [], 0
            while True:
                b = os.pread(f.fileno(), 1 << 16, off)
                if not b:
                    break
                chunks.append(b)
                off += len(b)
            res.append(b"".join(chunks).decode(errors="replace"))
        return tuple(res)

    def stop(self, timeout=2.0):
        """SIGTERM to the program's process group, SIGKILL after timeout; its exit
        status. What the program started in its group is killed too, also when the
        program itself had already ended."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)  # its own session: only what it started
                self.popen.wait(timeout)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                pass
        try:
            # whatever of its group is left (the leader gone or not): SIGKILL
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return self.popen.wait()


class Node:
    """A node of a lab: a host, a NAT or the internet's core."""

    def __init__(self, lab, name, info):
        self.lab = lab
        self.name = name
        self.kind = info.get("kind")
        self.netns = info.get("netns")
        self.addrs = [a.split("/")[0] for a in info.get("addrs", [])]
        self.addr = self.addrs[0] if self.addrs else None
        self.behind = info.get("behind")  # a host's NAT, or "internet"
        self.profile = info.get("profile")  # a NAT's
        self.wan = info.get("wan")  # a NAT's public address
        self.lan = info.get("lan")  # a NAT's inside network

    def __repr__(self):
        return f"<natlab.Node {self.lab.name}/{self.name} {self.kind} {self.addr}>"

    def _argv(self, cmd):
        if len(cmd) == 1 and isinstance(cmd[0], (list, tuple)):
            cmd = cmd[0]
        return [binary(), "exec", self.lab.name, self.name, "--", *map(str, cmd)]

    def exec(self, *cmd, check=True, timeout=60, input=None, env=None, cwd=None):
        """Runs cmd in the node and waits: a CompletedProcess with text output.
        check: a non-zero exit raises subprocess.CalledProcessError. env: added
        to this process's environment."""
        return subprocess.run(self._argv(cmd), capture_output=True, text=True, check=check,
                              timeout=timeout, input=input, env=_env(env), cwd=cwd)

    def popen(self, *cmd, env=None, cwd=None):
        """Starts cmd in the node and returns a Process; the lab ends it at down.
        env: added to this process's environment."""
        p = Process(list(cmd), self._argv(cmd), _env(env), cwd)
        self.lab._procs.append(p)
        return p

    def socket(self, family=socket.AF_INET, type=socket.SOCK_STREAM, proto=0):
        """A socket made inside the node's namespace (it stays there), for tests
        that drive packets from Python itself."""
        with _setns_lock:
            back = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
            try:
                fd = os.open(f"/run/netns/{self.netns}", os.O_RDONLY)
                try:
                    if _libc.setns(fd, _CLONE_NEWNET):
                        raise OSError(ctypes.get_errno(), f"setns {self.netns}")
                    try:
                        s = socket.socket(family, type, proto)
                    finally:
                        if _libc.setns(back, _CLONE_NEWNET):
                            raise OSError(ctypes.get_errno(), "setns back: this thread is left in " + self.netns)
                finally:
                    os.close(fd)
            finally:
                os.close(back)
        self.lab._socks.append(s)
        return s

    def mappings(self):
        return self.lab.mappings(self.name)

    def rules(self):
        return self.lab.rules(self.name)


class Lab:
    """A lab brought up from a scenario: a file's path, a dict of sections
    (scenario_text) or the text itself (text=...). Down at down(), at the end of
    a with block, or by the pytest fixture."""

    def __init__(self, scenario=None, *, text=None, name="lab", owner=None):
        self.name = None
        self.up = False
        self._procs, self._socks = [], []
        self._tmp = None
        if text is None and isinstance(scenario, dict):
            text = scenario_text(scenario)
        if text is not None:
            self._tmp = tempfile.mkdtemp(prefix="natlab-py-")
            scenario = os.path.join(self._tmp, f"{name}.ini")
            with open(scenario, "w") as f:
                f.write(text)
        if scenario is None:
            raise ValueError("natlab.Lab: a scenario file, a dict of sections or text= is needed")
        self.scenario = os.fspath(scenario)
        try:
            # --owner: if this process dies, natlab list shows the lab stale and
            # natlab down --stale takes it down
            r = command("up", self.scenario, "--owner", owner or os.getpid())
        except BaseException:
            self._cleanup_tmp()
            raise
        self.name = r.stdout.strip()
        self.up = True
        try:
            self._nodes = {n: Node(self, n, i) for n, i in self.show()["nodes"].items()}
        except BaseException:
            self.down()
            raise

    def __repr__(self):
        return f"<natlab.Lab {self.name}>"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.down()

    def show(self):
        """`natlab show LAB --json`: nodes, addresses, NAT mappings, capture path."""
        return json.loads(command("show", self.name, "--json").stdout)

    def precision(self):
        """How late the lab's wire has released frames against their due time so
        far (`natlab show LAB --json --wire`, which reads no NAT's mappings): a
        dict with "frames", "p50", "p99" and "max" (us; 9999 stands for that or
        later) of the frames with a delay to keep; "at_once", the frames due as
        they came (links without delay): how soon after their arrival they left,
        the wire's wake-up, which no bound covers; "realtime", "dropped",
        "bounds" and "warnings" (empty while the wire holds its bounds). None for
        a lab without a wire (internet = bridge) or before its first frame."""
        return json.loads(command("show", self.name, "--json", "--wire").stdout)

    @property
    def node_names(self):
        return list(self._nodes)

    def node(self, name):
        try:
            return self._nodes[name]
        except KeyError:
            raise KeyError(f"lab {self.name} has no node {name!r} (it has {', '.join(self._nodes)})") from None

    def mappings(self, nat):
        """The NAT's current mappings, each a Mapping."""
        node = self.show()["nodes"].get(nat)
        if node is None or node.get("kind") != "nat":
            raise KeyError(f"lab {self.name} has no NAT {nat!r}")
        return [Mapping.of(m) for m in node.get("mappings", [])]

    def rules(self, nat):
        """The nftables ruleset in force in the NAT's namespace, as nft lists it."""
        return self.node(nat).exec("nft", "list", "ruleset").stdout

    def pcap(self, copy_to=None):
        """The capture at the internet's core (the scenario's [lab] capture = on),
        every frame up to now. The live file goes with the lab at down: copy_to
        (a path) keeps a copy, which is returned."""
        path = self.show().get("pcap")
        if not path:
            raise NatlabError(f"lab {self.name} captures nothing: set capture = on in its [lab] section")
        if copy_to is None:
            return path
        shutil.copyfile(path, copy_to)
        return os.fspath(copy_to)

    def down(self):
        """Ends every process started through this object, then `natlab down`
        (which ends whatever else runs in the lab). Safe to call twice."""
        try:
            for s in self._socks:
                s.close()
            for p in self._procs:
                try:
                    p.stop()
                except Exception:  # natlab down ends it all the same
                    pass
        finally:
            self._socks, self._procs = [], []
            try:
                if self.up:
                    command("down", self.name)
                    self.up = False
            finally:
                self._cleanup_tmp()

    def _cleanup_tmp(self):
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
