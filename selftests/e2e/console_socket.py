#!/usr/bin/env python3
# A console-socket receiver, as containerd's runc shim is one: listens on
# SOCKET, takes the pty master the runtime sends (SCM_RIGHTS; the message is
# the slave's name), sets its window size to ROWS x COLS, writes SEND to it,
# then copies what comes from it to OUT until the far side is gone.
# usage: console_socket.py SOCKET OUT ROWS COLS [SEND]
import array
import fcntl
import os
import socket
import struct
import sys
import termios


def main():
    path, out, rows, cols = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    send = sys.argv[5] if len(sys.argv) > 5 else ""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(120)
    conn, _ = srv.accept()
    fds = array.array("i")
    msg, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(fds.itemsize))
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds.frombytes(data[:fds.itemsize])
    conn.close()
    srv.close()
    with open(out, "wb") as f:
        f.write(b"name " + msg + b"\n")
        if not fds:
            f.write(b"no fd\n")
            return 1
        master = fds[0]
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        if send:
            os.write(master, send.encode())
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: no slave left open
                break
            if not data:
                break
            f.write(data)
            f.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
