"""A TLS server on pyOpenSSL, whose bundled OpenSSL (3.5+) offers X25519MLKEM768 by default.

Usage: pq_server.py CERT KEY [--port N] [--hsts]. Listens on 127.0.0.1 (port 0 = a free one),
prints the port on stdout, then answers every HTTP request with a short page (and an HSTS header
with --hsts). One thread per connection; runs until killed.
"""

from __future__ import annotations

import argparse
import socket
import struct
import sys
import threading

from OpenSSL import SSL


def serve(connection: socket.socket, context: SSL.Context, hsts: bool) -> None:
    # blocking, as OpenSSL expects, but with a kernel receive timeout so a stalled client frees its thread
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 10, 0))
    tls = SSL.Connection(context, connection)
    tls.set_accept_state()
    try:
        tls.do_handshake()
        request = b""
        while b"\r\n\r\n" not in request and len(request) < 65536:
            chunk = tls.recv(4096)
            if not chunk:
                return
            request += chunk
        headers = "Strict-Transport-Security: max-age=63072000; includeSubDomains\r\n" if hsts else ""
        body = b"keysweep post-quantum test server\n"
        tls.sendall(
            (
                f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
                f"{headers}Connection: close\r\n\r\n"
            ).encode()
            + body
        )
        tls.shutdown()
    except (SSL.Error, OSError):
        pass  # scanners abort handshakes on purpose
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("cert")
    parser.add_argument("key")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--hsts", action="store_true")
    args = parser.parse_args()
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.set_min_proto_version(SSL.TLS1_2_VERSION)
    context.use_certificate_chain_file(args.cert)
    context.use_privatekey_file(args.key)
    listener = socket.create_server(("127.0.0.1", args.port), backlog=128)
    print(listener.getsockname()[1], flush=True)
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=serve, args=(connection, context, args.hsts), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
