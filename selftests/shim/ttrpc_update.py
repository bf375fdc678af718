#!/usr/bin/env python3
# A minimal ttrpc client for the shim tests: sends containerd.task.v2.Task/Update
# with resources as containerd forwards them from Tasks.Update (an Any of type
# types.containerd.io/opencontainers/runtime-spec/1/LinuxResources, JSON), as
# `ctr task update` would (Debian's ctr 1.6 has no such command).
# usage: ttrpc_update.py ADDRESS TASK-ID JSON; prints "CODE MESSAGE", exits 0 on OK.
import socket
import struct
import sys

TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources"


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, data):  # length-delimited field
    return varint(num << 3 | 2) + varint(len(data)) + data


def parse(buf):  # {field number: [values]} of one message
    out, i = {}, 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(buf, i)
        elif wt == 2:
            n, i = read_varint(buf, i)
            v, i = buf[i:i + n], i + n
        else:
            raise ValueError("wire type %d" % wt)
        out.setdefault(num, []).append(v)
    return out


def read_varint(buf, i):
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data


def main():
    addr, task, js = sys.argv[1:4]
    if addr.startswith("unix://"):
        addr = addr[len("unix://"):]
    anyv = field(1, TYPE_URL.encode()) + field(2, js.encode())
    req = field(1, task.encode()) + field(2, anyv)          # UpdateTaskRequest
    msg = (field(1, b"containerd.task.v2.Task") + field(2, b"Update") +
           field(3, req))                                    # ttrpc.Request
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(addr)
    s.sendall(struct.pack(">IIBB", len(msg), 1, 1, 0) + msg)
    while True:
        length, stream, typ, _ = struct.unpack(">IIBB", recv_exact(s, 10))
        body = recv_exact(s, length)
        if stream == 1 and typ == 2:
            break
    status = parse(body).get(1, [b""])[0]
    st = parse(status)
    code = st.get(1, [0])[0]
    message = st.get(2, [b""])[0].decode(errors="replace")
    print(code, message)
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
