# SPDX-License-Identifier: MIT
"""A threaded Python echo server that runs subprocesses, for
test/preload-spawn.sh (run under urnet-run).

    python3 spawn-server.py [NCONN [NMSG [SPAWN_EVERY]]]

Serves on 127.0.0.1 (port 0) with a thread per connection; NCONN client
threads (default 100) each send NMSG messages (default 10) of varying size
and check the echo with a checksum.  Every SPAWN_EVERY-th request (default
10, over all connections) the server runs subprocess.run(['/bin/true'])
before it echoes, while other threads are blocked in recv: CPython's
subprocess starts the child with vfork() and the child calls close_range,
dup2 and close before exec.  Prints a summary and exits 0 when every byte
came back and every child exited 0.
"""
import hashlib
import socket
import socketserver
import subprocess
import sys
import threading

NCONN = int(sys.argv[1]) if len(sys.argv) > 1 else 100
NMSG = int(sys.argv[2]) if len(sys.argv) > 2 else 10
SPAWN_EVERY = int(sys.argv[3]) if len(sys.argv) > 3 else 10

lock = threading.Lock()
requests = 0
spawns = 0
failures = []


def recv_exactly(sock, n):
    parts = []
    while n:
        b = sock.recv(n)
        if not b:
            raise EOFError("connection closed early")
        parts.append(b)
        n -= len(b)
    return b"".join(parts)


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        global requests, spawns
        sock = self.request
        while True:
            head = sock.recv(4)
            if not head:
                return
            head += recv_exactly(sock, 4 - len(head))
            body = recv_exactly(sock, int.from_bytes(head, "big"))
            with lock:
                requests += 1
                spawn = requests % SPAWN_EVERY == 0
            if spawn:
                subprocess.run(["/bin/true"], check=True)
                with lock:
                    spawns += 1
            sock.sendall(head + body)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    request_queue_size = NCONN


def client(port, idx):
    try:
        with socket.create_connection(("127.0.0.1", port)) as s:
            for i in range(NMSG):
                body = bytes((idx * 31 + i * 7 + k) & 0xFF for k in range(1 + (idx * 97 + i * 389) % 4000))
                s.sendall(len(body).to_bytes(4, "big") + body)
                head = recv_exactly(s, 4)
                back = recv_exactly(s, int.from_bytes(head, "big"))
                if hashlib.sha256(back).digest() != hashlib.sha256(body).digest():
                    raise ValueError("echo %d of connection %d differs" % (i, idx))
    except Exception as e:  # reported by the main thread
        with lock:
            failures.append("connection %d: %r" % (idx, e))


def main():
    server = Server(("127.0.0.1", 0), Echo)
    port = server.server_address[1]
    st = threading.Thread(target=server.serve_forever, daemon=True)
    st.start()
    clients = [threading.Thread(target=client, args=(port, i)) for i in range(NCONN)]
    for t in clients:
        t.start()
    for t in clients:
        t.join(120)
        if t.is_alive():
            failures.append("a client did not finish within 120 s")
            break
    server.shutdown()
    server.server_close()
    if failures:
        for f in failures[:10]:
            print("spawn-server.py: " + f, file=sys.stderr)
        return 1
    print("spawn-server.py: %d connections x %d echoes, %d subprocesses" %
          (NCONN, NMSG, spawns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
