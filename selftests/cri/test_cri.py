#!/usr/bin/python3
"""CRI tests of the katasbx shim: containerd's CRI plugin driven over its gRPC
API (runtime.v1, cri.proto) as kubelet drives it, with runtime handler
katasbx. Run by selftests/cri/run.sh, which starts containerd and imports the
images; this prints TAP lines numbered from --first and writes "N PASS FAIL
SKIP" to --counts.

Every test runs under a time limit of its own and every RPC has a deadline,
so a hang is a "not ok" and the next test runs. A test that needs a pod or
container an earlier test failed to make is skipped. Exec's streaming URL is
spoken to with WebSocket (RFC 6455, subprotocol v4.channel.k8s.io: each
binary message's first byte is its channel, 0 stdin, 1 stdout, 2 stderr,
3 the exit status as JSON, 4 terminal resizes), which containerd 1.6's
streaming server takes beside SPDY.
"""
import argparse
import base64
import glob
import hashlib
import json
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("--work", required=True)
ap.add_argument("--sock", required=True)
ap.add_argument("--py", required=True, help="where cri_pb2*.py were generated")
ap.add_argument("--subnet", required=True, help="the CNI /24, as A.B.C")
ap.add_argument("--pause", required=True)
ap.add_argument("--busybox", required=True)
ap.add_argument("--guest-release", required=True)
ap.add_argument("--cgroup-tag", required=True)
ap.add_argument("--first", type=int, default=1)
ap.add_argument("--counts", required=True)
A = ap.parse_args()
sys.path.insert(0, A.py)

import grpc  # noqa: E402
import cri_pb2 as pb  # noqa: E402
import cri_pb2_grpc as pbg  # noqa: E402

WORK = A.work
SHIM_ROOT = os.path.join(WORK, "k")  # KATASBX_SHIM_ROOT
SHIM_NS = os.path.join(SHIM_ROOT, "k8s.io")
CLOG = os.path.join(WORK, "containerd.log")
MiB = 1 << 20
channel = grpc.insecure_channel("unix://" + A.sock)
RT = pbg.RuntimeServiceStub(channel)
IM = pbg.ImageServiceStub(channel)
STATE = {}  # what earlier tests made: pods, containers, their configs


class Fail(Exception):
    """A test's failure; its arguments are the diagnostic lines."""


class Skip(Exception):
    pass


def check(cond, *diag):
    if not cond:
        raise Fail(*diag)


def shim_log(n=8, match=None):
    """The last n lines of containerd's log the shim wrote or that are errors."""
    try:
        with open(CLOG, errors="replace") as f:
            lines = [ln.rstrip("\n") for ln in f
                     if ("katasbx" in ln or "level=error" in ln) and "published" not in ln
                     and (match is None or match in ln)]
    except OSError as e:
        return [f"containerd log: {e}"]
    return ["log: " + ln[:300] for ln in lines[-n:]]


def rpc_error(e):
    if isinstance(e, grpc.RpcError):
        return f"{e.code().name}: {e.details()}"
    return repr(e)


# ---------------------------------------------------------------- the runner

TESTS = []


def test(name, limit=120, needs=()):
    def reg(fn):
        TESTS.append((name, fn, limit, needs))
        return fn
    return reg


class Tap:
    def __init__(self, first):
        self.n = first - 1
        self.counts = [0, 0, 0]  # pass fail skip

    def line(self, kind, text, diag=()):
        self.n += 1
        if kind == "ok":
            self.counts[0] += 1
            print(f"ok {self.n} - {text}")
        elif kind == "skip":
            self.counts[2] += 1
            print(f"ok {self.n} - {text} # SKIP {diag[0] if diag else ''}")
            diag = ()
        else:
            self.counts[1] += 1
            print(f"not ok {self.n} - {text}")
        for d in diag:
            for ln in str(d).splitlines() or [""]:
                print(f"#   {ln}")
        sys.stdout.flush()


def run_all():
    tap = Tap(A.first)
    for name, fn, limit, needs in TESTS:
        missing = [k for k in needs if k not in STATE]
        if missing:
            tap.line("skip", name, [f"needs {', '.join(missing)}, which an earlier test did not make"])
            continue
        res = {}

        def body():
            try:
                res["extra"] = fn()
            except (Fail, Skip) as e:
                res["exc"] = e
            except grpc.RpcError as e:
                res["exc"] = Fail(rpc_error(e), *shim_log())
            except Exception as e:  # a bug of the test itself shows as a failure too
                res["exc"] = Fail(f"{type(e).__name__}: {e}")

        t0 = time.monotonic()
        th = threading.Thread(target=body, daemon=True)
        th.start()
        th.join(limit)
        took = time.monotonic() - t0
        if th.is_alive():
            tap.line("not ok", name, [f"did not finish within its limit of {limit} s"] + shim_log())
        elif "exc" in res and isinstance(res["exc"], Skip):
            tap.line("skip", name, list(res["exc"].args))
        elif "exc" in res:
            tap.line("not ok", name, list(res["exc"].args) + [f"after {took:.1f} s"])
        else:
            extra = res.get("extra")
            tap.line("ok", f"{name}{': ' + extra if extra else ''} ({took:.1f} s)")
    return tap


# ------------------------------------------------------------------ helpers

NS = pb.NamespaceOption


def pod_config(name, hostname, pid=pb.CONTAINER, ports=(), resources=None, privileged=False):
    uid = f"{A.cgroup_tag}-{name}"
    logdir = os.path.join(WORK, "logs", f"default_{name}_{uid}")
    os.makedirs(logdir, exist_ok=True)  # kubelet makes the pod's log directory
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=name, uid=uid, namespace="default", attempt=0),
        hostname=hostname,
        log_directory=logdir,
        dns_config=pb.DNSConfig(servers=[f"{A.subnet}.53"], searches=["svc.kxtest", "kxtest"],
                                options=["ndots:2"]),
        port_mappings=[pb.PortMapping(protocol=pb.TCP, container_port=c, host_port=h)
                       for c, h in ports],
        labels={"io.kubernetes.pod.name": name, "kxtest": "1"},
        annotations={"kxtest/pod": name},
        linux=pb.LinuxPodSandboxConfig(
            cgroup_parent=f"/kubepods/pod{uid}",
            resources=resources,
            security_context=pb.LinuxSandboxSecurityContext(
                namespace_options=NS(network=pb.POD, pid=pid, ipc=pb.POD), privileged=privileged)),
    )


def run_pod(key, cfg):
    r = RT.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg, runtime_handler="katasbx"),
                         timeout=240)
    STATE[key] = {"id": r.pod_sandbox_id, "cfg": cfg}
    return r.pod_sandbox_id


def container(pod, name, cmd, mem=0, pid=pb.CONTAINER, tty=False, privileged=False):
    """Create and start a busybox container in pod (a STATE entry); its id."""
    cfg = pod["cfg"]
    os.makedirs(os.path.join(cfg.log_directory, name), exist_ok=True)
    cc = pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name=name, attempt=0),
        image=pb.ImageSpec(image=A.busybox),
        command=cmd[:1], args=cmd[1:],
        envs=[pb.KeyValue(key="KXTEST", value=name)],
        labels={"io.kubernetes.container.name": name},
        log_path=f"{name}/0.log",
        tty=tty,
        linux=pb.LinuxContainerConfig(
            resources=pb.LinuxContainerResources(memory_limit_in_bytes=mem),
            security_context=pb.LinuxContainerSecurityContext(
                namespace_options=NS(network=pb.POD, pid=pid, ipc=pb.POD),
                privileged=privileged)),
    )
    cid = RT.CreateContainer(pb.CreateContainerRequest(
        pod_sandbox_id=pod["id"], config=cc, sandbox_config=cfg), timeout=120).container_id
    RT.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=120)
    return cid


def status(cid):
    return RT.ContainerStatus(pb.ContainerStatusRequest(container_id=cid), timeout=20).status


def exec_sync(cid, cmd, timeout=30):
    r = RT.ExecSync(pb.ExecSyncRequest(container_id=cid, cmd=cmd, timeout=timeout),
                    timeout=timeout + 15)
    return r.exit_code, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def sh(cid, script, timeout=30):
    return exec_sync(cid, ["sh", "-c", script], timeout)


def wait_for(fn, secs, step=0.2):
    end = time.monotonic() + secs
    while True:
        v = fn()
        if v or time.monotonic() > end:
            return v
        time.sleep(step)


def pgrep(pattern):
    out = []
    for p in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(p, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if re.search(pattern, cmd):
            out.append(int(p.split("/")[2]))
    return out


def mounts_matching(s):
    with open("/proc/self/mountinfo") as f:
        return [ln.split()[4] for ln in f if s in ln.split()[4]]


def cgroups_named(name):
    return glob.glob(f"/sys/fs/cgroup/*/kubepods/*/{name}") + \
        glob.glob(f"/sys/fs/cgroup/kubepods/*/{name}")


def sandbox_state(sid):
    try:
        with open(os.path.join(SHIM_NS, sid, "state.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


# --------------------------------------------------------- WebSocket client

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
WS_PROTO = "v4.channel.k8s.io"


def ws_send(s, op, data):
    n = len(data)
    hdr = bytes([0x80 | op])
    if n < 126:
        hdr += bytes([0x80 | n])
    elif n < 1 << 16:
        hdr += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        hdr += bytes([0x80 | 127]) + struct.pack("!Q", n)
    mask = os.urandom(4)
    s.sendall(hdr + mask + bytes(b ^ mask[i & 3] for i, b in enumerate(data)))


class WsReader:
    def __init__(self, s, buf):
        self.s, self.buf = s, buf

    def exact(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def frame(self):
        b0, b1 = self.exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.exact(8))[0]
        mask = self.exact(4) if b1 & 0x80 else None
        data = self.exact(n)
        if mask:
            data = bytes(b ^ mask[i & 3] for i, b in enumerate(data))
        return b0 & 0x0F, data


def ws_exec(url, stdin=b"", resize=None, limit=60):
    """Speak to Exec's URL: the handshake, then stdin and a resize out, every
    channel's bytes in until the server closes. {channel: bytes}, the
    negotiated protocol."""
    u = urllib.parse.urlsplit(url)
    s = socket.create_connection((u.hostname, u.port or 80), timeout=limit)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        path = u.path + ("?" + u.query if u.query else "")
        s.sendall((f"GET {path} HTTP/1.1\r\nHost: {u.netloc}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {WS_PROTO}\r\n\r\n")
                  .encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = s.recv(4096)
            check(d, f"handshake: the server closed the connection: {buf[:200]!r}")
            buf += d
        head, rest = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        check(lines[0].split()[1:2] == ["101"], f"handshake refused: {lines[0]}", *lines[1:6])
        hdrs = {k.strip().lower(): v.strip() for k, v in
                (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
        want = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        check(hdrs.get("sec-websocket-accept") == want, f"bad Sec-WebSocket-Accept: {hdrs}")
        proto = hdrs.get("sec-websocket-protocol", "")
        rd = WsReader(s, rest)
        if resize:
            ws_send(s, 2, b"\x04" + json.dumps({"Width": resize[1], "Height": resize[0]}).encode())
        if stdin:
            ws_send(s, 2, b"\x00" + stdin)
        out = {}
        last = None
        while True:
            try:
                op, data = rd.frame()
            except EOFError:
                break
            if op == 8:
                try:
                    ws_send(s, 8, data[:2])
                except OSError:
                    pass
                break
            if op == 9:
                ws_send(s, 10, data)
            elif op in (1, 2) and data:
                last = data[0]
                out[last] = out.get(last, b"") + data[1:]
            elif op == 0 and last is not None:
                out[last] += data
        return out, proto
    finally:
        s.close()


def exec_status(raw):
    """Channel 3's v4 status: (exit code, the JSON). Success is 0."""
    try:
        st = json.loads(raw.decode())
    except ValueError:
        return None, raw
    if st.get("status") == "Success":
        return 0, st
    for c in st.get("details", {}).get("causes", []):
        if c.get("reason") == "ExitCode":
            return int(c.get("message")), st
    return None, st


# -------------------------------------------------------------------- tests

LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)) "
                      r"(stdout|stderr) (F|P) (.*)$")
# busybox 1.35's wget -T crashes (SIGSEGV): timeout(1) bounds it instead
WGET = ["timeout", "10", "wget", "-q", "-O-"]
HTTPD = ("mkdir -p /www; echo hello-from-web > /www/index.html; echo started; echo to-stderr >&2; "
         "(while :; do echo tick; sleep 2; done) & exec httpd -f -p 8080 -h /www")


@test("CRI Version and Status: containerd's runtime API v1, RuntimeReady and NetworkReady", 30)
def t_version():
    v = RT.Version(pb.VersionRequest(version="v1"), timeout=10)
    st = RT.Status(pb.StatusRequest(), timeout=10)
    conds = {c.type: c.status for c in st.status.conditions}
    check(v.runtime_api_version == "v1" and v.runtime_name == "containerd", str(v))
    check(conds.get("RuntimeReady") and conds.get("NetworkReady"), str(st))
    return f"{v.runtime_name} {v.runtime_version}"


@test("ListImages and ImageStatus: the imported pause and busybox images, by name and id", 30)
def t_images():
    imgs = IM.ListImages(pb.ListImagesRequest(), timeout=10).images
    tags = {t: i.id for i in imgs for t in i.repo_tags}
    check(A.pause in tags and A.busybox in tags, f"images: {tags}")
    with open(os.path.join(WORK, "busybox.id")) as f:
        bid = f.read().strip()
    st = IM.ImageStatus(pb.ImageStatusRequest(image=pb.ImageSpec(image=A.busybox)), timeout=10)
    check(st.image.id == bid and st.image.size > 0, f"ImageStatus: {st.image}", f"want id {bid}")
    st = IM.ImageStatus(pb.ImageStatusRequest(image=pb.ImageSpec(image=bid)), timeout=10)
    check(A.busybox in st.image.repo_tags, f"ImageStatus by id: {st.image}")


# The shim's root (KATASBX_SHIM_ROOT) is not made beforehand: the first sandbox makes
# ROOT/k8s.io/.pods (a shim that made .pods without its parents failed here).
@test("RunPodSandbox (runtime_handler katasbx) on a fresh shim root: pod web "
      "(hostname, dns_config, port_mappings, cgroup_parent, log_directory)", 300)
def t_run_web():
    fresh = not os.path.exists(SHIM_ROOT)
    cfg = pod_config("web", "cri-web", ports=[(8080, 18080)])
    try:
        sid = run_pod("web", cfg)
    except grpc.RpcError as e:
        # kubelet tries again with the next attempt: so do the tests, so that one
        # failure here does not skip all the others
        diag = [rpc_error(e), f"shim root {SHIM_ROOT} existed before: {not fresh}", *shim_log()]
        cfg.metadata.attempt = 1
        try:
            sid = run_pod("web", cfg)
            diag.append(f"the retry (attempt 1), as kubelet's, made pod {sid[:12]}")
        except grpc.RpcError as e2:
            diag.append(f"the retry (attempt 1) failed too: {rpc_error(e2)}")
        raise Fail(*diag)
    check(fresh, f"{SHIM_ROOT} existed before the first pod: the fresh-root case is not tested")
    return sid[:12]


@test("PodSandboxStatus: READY, an IP in the CNI subnet, handler katasbx; ListPodSandbox lists it",
      30, needs=["web"])
def t_pod_status():
    pod = STATE["web"]
    st = RT.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pod["id"], verbose=True),
                             timeout=10)
    s = st.status
    ip = s.network.ip
    check(s.state == pb.SANDBOX_READY and ip.startswith(A.subnet + ".") and
          s.runtime_handler == "katasbx" and s.metadata.name == "web" and
          s.annotations.get("kxtest/pod") == "web", str(s))
    pod["ip"] = ip
    try:
        info = json.loads(st.info.get("info", "{}"))
        pod["netns"] = next((n.get("path") for n in info["runtimeSpec"]["linux"]["namespaces"]
                             if n.get("type") == "network"), None)
        pod["pid"] = info.get("pid")
    except (ValueError, KeyError, TypeError):
        pass
    items = RT.ListPodSandbox(pb.ListPodSandboxRequest(filter=pb.PodSandboxFilter(
        label_selector={"kxtest": "1"})), timeout=10).items
    check([(i.id, i.runtime_handler) for i in items] == [(pod["id"], "katasbx")], str(items))
    return f"IP {ip}, netns {pod.get('netns')}"


@test("the sandbox's QEMU runs in cgroup_parent/SANDBOX-ID on the host", 30, needs=["web"])
def t_pod_cgroup():
    sid = STATE["web"]["id"]
    q = sandbox_state(sid).get("qemu_pid")
    check(q, f"no qemu_pid in {SHIM_NS}/{sid}/state.json: {sandbox_state(sid)}")
    want = f"/kubepods/pod{A.cgroup_tag}-web/{sid}"
    with open(f"/proc/{q}/cgroup") as f:
        lines = f.read().split()
    check(lines and all(ln.endswith(":" + want) for ln in lines), f"QEMU {q}: {lines}", f"want {want}")
    return f"{len(lines)} hierarchies"


@test("CreateContainer/StartContainer: httpd with a log_path and a 128 MiB limit is RUNNING",
      180, needs=["web"])
def t_httpd():
    cid = container(STATE["web"], "httpd", ["sh", "-c", HTTPD], mem=128 * MiB)
    STATE["httpd"] = cid
    st = status(cid)
    check(st.state == pb.CONTAINER_RUNNING and st.log_path.endswith("httpd/0.log"), str(st))
    lst = RT.ListContainers(pb.ListContainersRequest(filter=pb.ContainerFilter(
        pod_sandbox_id=STATE["web"]["id"])), timeout=10).containers
    check([(c.id, c.state) for c in lst] == [(cid, pb.CONTAINER_RUNNING)], str(lst))
    return cid[:12]


@test("ExecSync: the guest's kernel, the pod's hostname and its resolv.conf from dns_config",
      60, needs=["httpd"])
def t_exec_env():
    cid = STATE["httpd"]
    rc, rel, err = exec_sync(cid, ["uname", "-r"])
    check(rc == 0 and rel.strip() == A.guest_release, f"uname -r: rc={rc} {rel!r} {err!r}",
          f"want the guest's {A.guest_release}")
    rc, host, err = exec_sync(cid, ["hostname"])
    check(rc == 0 and host.strip() == "cri-web", f"hostname: rc={rc} {host!r} {err!r}")
    rc, conf, err = exec_sync(cid, ["cat", "/etc/resolv.conf"])
    lines = [ln.strip() for ln in conf.splitlines() if ln.strip()]
    want = ["search svc.kxtest kxtest", f"nameserver {A.subnet}.53", "options ndots:2"]
    check(rc == 0 and sorted(lines) == sorted(want), f"resolv.conf: rc={rc} {lines} {err!r}",
          f"want {want}")


@test("ExecSync: exit code 3, stdout and stderr apart", 60, needs=["httpd"])
def t_exec_rc():
    rc, out, err = sh(STATE["httpd"], "echo out; echo err >&2; echo $KXTEST; exit 3")
    check(rc == 3 and out == "out\nhttpd\n" and err == "err\n", f"rc={rc} out={out!r} err={err!r}")


@test("the container's log under log_directory is in CRI's format (<RFC3339Nano> stdout|stderr F text)",
      60, needs=["httpd"])
def t_log_format():
    path = os.path.join(STATE["web"]["cfg"].log_directory, "httpd", "0.log")

    def lines():
        try:
            with open(path, errors="replace") as f:
                return f.read().splitlines()
        except OSError:
            return []
    wait_for(lambda: any(ln.endswith(" stderr F to-stderr") for ln in lines()), 30)
    got = lines()
    bad = [ln for ln in got if not LOG_LINE.match(ln)]
    check(got and not bad, f"{path}: {len(got)} lines, not in CRI's format: {bad[:3]}", *got[:3])
    streams = [(m.group(4), m.group(6)) for m in map(LOG_LINE.match, got)]
    check(("stdout", "started") in streams and ("stderr", "to-stderr") in streams,
          f"no 'stdout F started' and 'stderr F to-stderr' in {got[:5]}")
    return got[0]


@test("a second container in the pod (client) reaches httpd on 127.0.0.1:8080", 180,
      needs=["httpd"])
def t_client():
    cid = container(STATE["web"], "client", ["sleep", "100000"])
    STATE["client"] = cid
    rc, out, err = exec_sync(cid, WGET + ["http://127.0.0.1:8080/index.html"])
    check(rc == 0 and out == "hello-from-web\n", f"wget: rc={rc} {out!r} {err!r}")
    rc, host, _ = exec_sync(cid, ["hostname"])
    check(host.strip() == "cri-web", f"hostname in the second container: {host!r}")


@test("Exec over the streaming server (WebSocket, v4.channel.k8s.io), no tty: stdout, stderr, "
      "stdin, exit code 4", 90, needs=["httpd"])
def t_exec_stream():
    r = RT.Exec(pb.ExecRequest(container_id=STATE["httpd"], cmd=[
        "sh", "-c", "echo out; echo err >&2; read l; echo got:$l; exit 4"],
        stdin=True, stdout=True, stderr=True), timeout=20)
    check(r.url.startswith("http://127.0.0.1:"), f"url: {r.url}")
    out, proto = ws_exec(r.url, stdin=b"from-stdin\n")
    rc, st = exec_status(out.get(3, b""))
    check(proto == WS_PROTO, f"negotiated protocol {proto!r}")
    check(out.get(1) == b"out\ngot:from-stdin\n" and out.get(2) == b"err\n" and rc == 4,
          f"stdout={out.get(1)!r} stderr={out.get(2)!r} status={st}")
    return r.url.rsplit("/", 2)[0] + "/..."


@test("Exec with a tty over WebSocket: a pty, resized to 33x77 by channel 4, exit code 2", 90,
      needs=["httpd"])
def t_exec_tty():
    script = ('n=0; while [ "$(stty size)" = "0 0" ] && [ $n -lt 100 ]; do sleep 0.1; '
              'n=$((n+1)); done; tty; stty size; echo to-stderr >&2; exit 2')
    r = RT.Exec(pb.ExecRequest(container_id=STATE["httpd"], cmd=["sh", "-c", script], tty=True,
                               stdin=True, stdout=True, stderr=False), timeout=20)
    out, _ = ws_exec(r.url, resize=(33, 77))
    rc, st = exec_status(out.get(3, b""))
    text = out.get(1, b"").decode(errors="replace").replace("\r", "")
    lines = text.splitlines()
    check(rc == 2 and len(lines) >= 3 and re.match(r"^/dev/pts/\d+$", lines[0]) and
          lines[1] == "33 77" and "to-stderr" in lines and not out.get(2),
          f"stdout={text!r} stderr={out.get(2)!r} status={st}")
    return lines[0]


@test("ContainerStats and ListContainerStats: cpu and memory; available_bytes is the 128 MiB "
      "limit less the working set", 60, needs=["httpd", "client"])
def t_stats():
    s = RT.ContainerStats(pb.ContainerStatsRequest(container_id=STATE["httpd"]), timeout=20).stats
    cpu = s.cpu.usage_core_nano_seconds.value
    ws = s.memory.working_set_bytes.value
    av = s.memory.available_bytes.value
    check(s.attributes.id == STATE["httpd"] and cpu > 0 and ws > 0 and
          s.cpu.timestamp > 0 and s.memory.timestamp > 0, str(s))
    check(0 < av < 128 * MiB and av + ws == 128 * MiB,
          f"available_bytes {av} (2^64 - {(1 << 64) - av} )" if av > 1 << 62 else
          f"available_bytes {av}, working set {ws}: want 128 MiB in all")
    lst = RT.ListContainerStats(pb.ListContainerStatsRequest(filter=pb.ContainerStatsFilter(
        pod_sandbox_id=STATE["web"]["id"])), timeout=20).stats
    ids = {x.attributes.id: x for x in lst}
    check(set(ids) == {STATE["httpd"], STATE["client"]}, f"ListContainerStats: {list(ids)}")
    c = ids[STATE["client"]]
    check(c.memory.working_set_bytes.value > 0 and c.memory.available_bytes.value < 1 << 62 and
          c.HasField("cpu"), f"the client's (no limit): {c}")
    return f"cpu {cpu} ns, working set {ws}, available {av}"


@test("PodSandboxStats: the pod's cpu, memory, network and its containers", 60,
      needs=["httpd", "client"])
def t_pod_stats():
    s = RT.PodSandboxStats(pb.PodSandboxStatsRequest(pod_sandbox_id=STATE["web"]["id"]),
                           timeout=20).stats
    lx = s.linux
    ids = {c.attributes.id for c in lx.containers}
    check(s.attributes.id == STATE["web"]["id"], str(s.attributes))
    check(ids == {STATE["httpd"], STATE["client"]}, f"containers: {ids}")
    check(lx.cpu.usage_core_nano_seconds.value > 0 and lx.memory.working_set_bytes.value > 0,
          f"cpu: {lx.cpu}", f"memory: {lx.memory}")
    check(lx.network.default_interface.name == "eth0" and
          lx.network.default_interface.rx_bytes.value > 0, f"network: {lx.network}")
    return (f"cpu {lx.cpu.usage_core_nano_seconds.value} ns, memory {lx.memory.working_set_bytes.value}, "
            f"eth0 rx {lx.network.default_interface.rx_bytes.value}")


@test("UpdateContainerResources: memory 96 MiB and a cpu quota, read in the container's "
      "/sys/fs/cgroup", 60, needs=["httpd"])
def t_update():
    RT.UpdateContainerResources(pb.UpdateContainerResourcesRequest(
        container_id=STATE["httpd"], linux=pb.LinuxContainerResources(
            memory_limit_in_bytes=96 * MiB, cpu_period=100000, cpu_quota=50000)), timeout=30)
    rc, out, err = exec_sync(STATE["httpd"], ["cat", "/sys/fs/cgroup/memory.max",
                                              "/sys/fs/cgroup/cpu.max"])
    check(rc == 0 and out.split() == [str(96 * MiB), "50000", "100000"],
          f"rc={rc} {out!r} {err!r}", *shim_log(4))
    s = RT.ContainerStats(pb.ContainerStatsRequest(container_id=STATE["httpd"]), timeout=20).stats
    av, ws = s.memory.available_bytes.value, s.memory.working_set_bytes.value
    check(av + ws == 96 * MiB, f"ContainerStats after the update: available {av} working set {ws}")
    return " ".join(out.split())


@test("ReopenContainerLog: after the log is rotated, new lines go to a new file", 60,
      needs=["httpd"])
def t_reopen():
    path = os.path.join(STATE["web"]["cfg"].log_directory, "httpd", "0.log")
    os.rename(path, path + ".1")
    RT.ReopenContainerLog(pb.ReopenContainerLogRequest(container_id=STATE["httpd"]), timeout=20)

    def ticks():
        try:
            with open(path) as f:
                return [ln for ln in f.read().splitlines() if ln.endswith(" stdout F tick")]
        except OSError:
            return []
    got = wait_for(ticks, 20)
    check(got and all(LOG_LINE.match(ln) for ln in got), f"{path}: {got}",
          f"exists: {os.path.exists(path)}")


@test("port_mappings: hostPort 18080 on containerd's side (portmap) reaches httpd's 8080", 60,
      needs=["httpd"])
def t_hostport():
    url = f"http://{A.subnet}.1:18080/index.html"
    try:
        got = urllib.request.urlopen(url, timeout=10).read()
    except OSError as e:
        raise Fail(f"{url}: {e}")
    check(got == b"hello-from-web\n", f"{url}: {got!r}")


@test("a second pod at once (shared pid namespace, sized by its limits): pid 1 is the pod's "
      "pause, the VM is the sum's", 300, needs=["web"])
def t_run_shared():
    # kubelet's sum of the pod's limits: its VM is sized for it
    cfg = pod_config("shared", "cri-shared", pid=pb.POD, resources=pb.LinuxContainerResources(
        memory_limit_in_bytes=600 * MiB, cpu_period=100000, cpu_quota=200000), privileged=True)
    run_pod("shared", cfg)
    pod = STATE["shared"]
    pod["ip"] = RT.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pod["id"]),
                                    timeout=10).status.network.ip
    cid = container(pod, "twosleeps", ["sh", "-c", "sleep 111111 & exec sleep 222222"], pid=pb.POD)
    STATE["twosleeps"] = cid
    STATE["watcher"] = container(pod, "watcher", ["sleep", "100000"], pid=pb.POD)
    rc, out, err = sh(cid, "tr '\\0' ' ' </proc/1/cmdline; echo; ps -o pid,args")
    check(rc == 0 and out.splitlines()[0].strip() == "/pause" and "sleep 222222" in out and
          "sleep 111111" in out, f"rc={rc} {out!r} {err!r}")
    check(pod["ip"] != STATE["web"]["ip"] and pod["ip"].startswith(A.subnet + "."),
          f"IPs: {pod['ip']} {STATE['web']['ip']}")
    # containerd passes the sum as io.kubernetes.cri.sandbox-memory and -cpu-quota: a VM
    # of 1 GiB (600 MiB and the guest's own do not fit 512) and 2 vCPUs; web's has the
    # settings' 256 MiB and 1 vCPU
    sized = []
    for c in (cid, STATE["httpd"]):
        rc, out, err = sh(c, "sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo; nproc")
        check(rc == 0 and len(out.split()) == 2, f"rc={rc} {out!r} {err!r}")
        sized.append([int(x) for x in out.split()])
    (mem, cpus), (web_mem, web_cpus) = sized
    check(900 * 1024 < mem <= 1024 * 1024 and cpus == 2,
          f"the sized pod's VM: MemTotal {mem} kB, {cpus} CPUs", *shim_log(4))
    check(web_mem <= 256 * 1024 and web_cpus == 1, f"web's VM: {web_mem} kB, {web_cpus} CPUs")
    return f"IP {pod['ip']}, a VM of {mem // 1024} MiB and {cpus} vCPUs (web's {web_mem // 1024} MiB)"


@test("pod to pod over the bridge: the shared pod's container fetches from web's httpd at its IP",
      60, needs=["twosleeps", "httpd"])
def t_pod_to_pod():
    url = f"http://{STATE['web']['ip']}:8080/index.html"
    rc, out, err = exec_sync(STATE["twosleeps"], WGET + [url])
    check(rc == 0 and out == "hello-from-web\n", f"wget {url}: rc={rc} {out!r} {err!r}")


@test("a privileged container: the guest's kernel loads what it asks for (a bridge, a veth, "
      "overlay)", 60, needs=["twosleeps"])
def t_privileged():
    cid = container(STATE["shared"], "privileged", ["sleep", "100000"], pid=pb.POD,
                    privileged=True)
    STATE["privileged"] = cid
    rc, out, err = sh(cid, "ip link add kxbr0 type bridge && ip link add kxv0 type veth peer "
                      "name kxv1 && ip link set kxv0 master kxbr0 && ip -o link show kxv0 | "
                      "grep -o 'master kxbr0' && cd /tmp && mkdir l u w m && echo low >l/f && "
                      "mount -t overlay ov -o lowerdir=l,upperdir=u,workdir=w m && cat m/f && "
                      "umount m && ip link del kxv0 && ip link del kxbr0")
    check(rc == 0 and out.split() == ["master", "kxbr0", "low"], f"rc={rc} {out!r} {err!r}",
          *shim_log(4))
    return "a bridge with a veth on it, an overlay mount"


@test("StopContainer (timeout 3) of a container ignoring TERM: killed after the grace period, "
      "exit code 137", 120, needs=["web"])
def t_stop_stubborn():
    cid = container(STATE["web"], "stubborn", ["sh", "-c", 'trap "" TERM; echo ready; sleep 1000'])
    STATE["stubborn"] = cid
    t0 = time.monotonic()
    try:
        RT.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=3), timeout=60)
    except grpc.RpcError as e:
        raise Fail(f"StopContainer: {rpc_error(e)} after {time.monotonic() - t0:.1f} s", *shim_log())
    took = time.monotonic() - t0
    st = status(cid)
    check(st.state == pb.CONTAINER_EXITED and st.exit_code == 137 and 3 <= took < 30,
          f"after {took:.1f} s: state {pb.ContainerState.Name(st.state)} exit {st.exit_code} "
          f"reason {st.reason!r}")
    RT.RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=60)
    return f"{took:.1f} s, {st.reason}"


# The container's init exits on TERM, but its background sleep holds the container's
# stdout open in the pod's pid namespace: a shim that waits for that output's end
# before it reports the exit never answers (the monitor's drain, fixed with a deadline).
@test("StopContainer (timeout 5) of 'sleep 111111 & exec sleep 222222' in a shared pid namespace "
      "finishes within the timeout", 90, needs=["twosleeps"])
def t_stop_shared():
    cid = STATE["twosleeps"]
    t0 = time.monotonic()
    try:
        RT.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=5), timeout=40)
    except grpc.RpcError as e:
        took = time.monotonic() - t0
        st = status(cid)
        raise Fail(f"StopContainer: {rpc_error(e)} after {took:.1f} s; the container is "
                   f"{pb.ContainerState.Name(st.state)}", *shim_log(10))
    took = time.monotonic() - t0
    st = status(cid)
    check(st.state == pb.CONTAINER_EXITED and took < 5 + 10,
          f"after {took:.1f} s: {pb.ContainerState.Name(st.state)} exit {st.exit_code}", *shim_log())
    return f"{took:.1f} s, exit {st.exit_code}"


@test("after that StopContainer, none of its processes is left in the pod's pid namespace "
      "(as runc's shim kills them all when the init of a container without a pid namespace "
      "of its own exits)", 60, needs=["twosleeps", "watcher"])
def t_stop_shared_all():
    def left():
        rc, out, err = exec_sync(STATE["watcher"], ["ps", "-o", "pid,args"])
        return [ln.strip() for ln in out.splitlines() if re.search(r"sleep (111111|222222)", ln)]
    wait_for(lambda: not left(), 10, step=0.5)
    rest = left()
    check(not rest, f"still running in the pod after 10 s: {rest}")


def pod_gone(key):
    """StopPodSandbox and RemovePodSandbox; then nothing of the pod may be left."""
    pod = STATE[key]
    sid = pod["id"]
    shims = pgrep(r"containerd-shim-katasbx-v2 .*-id " + sid)
    st = sandbox_state(sid)
    qemu = st.get("qemu_pid")
    ctrs = [c.id for c in RT.ListContainers(pb.ListContainersRequest(filter=pb.ContainerFilter(
        pod_sandbox_id=sid)), timeout=10).containers]
    RT.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid), timeout=60)
    RT.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid), timeout=60)
    pod["removed"] = True

    def left():
        out = []
        alive = [p for p in shims + ([qemu] if qemu else []) if os.path.exists(f"/proc/{p}")]
        if alive:
            out.append(f"processes alive: {alive} (shim {shims}, QEMU {qemu})")
        if pod.get("netns") and os.path.exists(pod["netns"]):
            out.append(f"netns {pod['netns']} still there")
        ipf = os.path.join(WORK, "ipam", "kxcri", pod.get("ip", "-"))
        if os.path.exists(ipf):
            out.append(f"host-local still holds {pod.get('ip')} (CNI DEL did not run or failed)")
        m = mounts_matching(sid) + [x for c in ctrs for x in mounts_matching(c)]
        if m:
            out.append(f"mounts: {m[:3]}")
        cg = [x for i in [sid] + ctrs for x in cgroups_named(i)]
        if cg:
            out.append(f"cgroups: {cg[:3]}")
        for d in [os.path.join(SHIM_NS, sid), os.path.join(SHIM_NS, ".pods", sid)]:
            if os.path.exists(d):
                out.append(f"shim state: {d}")
        return out
    wait_for(lambda: not left(), 10)
    bad = left()
    items = RT.ListPodSandbox(pb.ListPodSandboxRequest(filter=pb.PodSandboxFilter(id=sid)),
                              timeout=10).items
    if items:
        bad.append(f"ListPodSandbox still lists it: {items}")
    check(not bad, *bad, *shim_log(6))
    return f"{len(ctrs)} containers, IP {pod.get('ip')} released"


@test("StopPodSandbox and RemovePodSandbox of web: no shim, QEMU, netns, IP, mount, cgroup "
      "or shim state left", 150, needs=["web"])
def t_remove_web():
    return pod_gone("web")


@test("StopPodSandbox and RemovePodSandbox of the shared pod: nothing left either", 150,
      needs=["shared"])
def t_remove_shared():
    return pod_gone("shared")


@test("with every pod removed: no shim or QEMU of this run, no pod share, no IP held", 30)
def t_all_gone():
    procs = pgrep(r"(containerd-shim-katasbx-v2|qemu-system).*" + re.escape(WORK))
    ips = [f for f in os.listdir(os.path.join(WORK, "ipam", "kxcri"))
           if re.match(r"^\d+\.\d+\.\d+\.\d+$", f)] if os.path.isdir(
        os.path.join(WORK, "ipam", "kxcri")) else []
    pods = os.listdir(os.path.join(SHIM_NS, ".pods")) if os.path.isdir(
        os.path.join(SHIM_NS, ".pods")) else []
    veths = subprocess.run(["ip", "-o", "link", "show", "master", "kxcri0"], capture_output=True,
                           text=True).stdout.split("\n")
    veths = [v.split(":")[1].strip() for v in veths if ":" in v]
    check(not procs and not ips and not pods and not veths, f"processes {procs}", f"IPs {ips}",
          f"shares {pods}", f"veths on the bridge {veths}")
    parents = sorted({os.path.basename(os.path.dirname(c)) for c in glob.glob(
        f"/sys/fs/cgroup/*/kubepods/pod{A.cgroup_tag}-*/.")})
    # the pods' own cgroups (cgroup_parent) stay, as with runc: kubelet removes those
    return f"pod cgroups left for kubelet to remove: {parents}" if parents else None


def teardown():
    """Whatever a failed test left: stop and remove every pod, quietly."""
    try:
        items = RT.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=10).items
    except grpc.RpcError:
        return
    for i in items:
        for name, call, req in (("StopPodSandbox", RT.StopPodSandbox, pb.StopPodSandboxRequest),
                                ("RemovePodSandbox", RT.RemovePodSandbox,
                                 pb.RemovePodSandboxRequest)):
            try:
                call(req(pod_sandbox_id=i.id), timeout=20)
            except grpc.RpcError as e:
                print(f"# teardown: {name} {i.id[:12]}: {rpc_error(e)}")


def main():
    tap = run_all()
    teardown()
    with open(A.counts, "w") as f:
        f.write(f"{tap.n - A.first + 1} {tap.counts[0]} {tap.counts[1]} {tap.counts[2]}\n")


if __name__ == "__main__":
    main()
