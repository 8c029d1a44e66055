#!/usr/bin/env python3
"""HTTP side of .ci/service-test.sh (standard library only), on loopback addresses only:
  pictures DIR N            write N distinct small PNGs (64x48 RGB, a few KB: each fits HAProxy's replay buffer)
  post URL FILE OUT         POST one picture to /api/depth; OUT gets the body, stdout one JSON line: status and headers
  load URL DIR FIRST N CONCURRENCY PID AFTER OUT
                            POST pictures FIRST..FIRST+N-1 from DIR, CONCURRENCY at a time, and send SIGKILL to PID
                            once AFTER answers have come back; OUT gets a JSON summary (answers by status and by
                            replica, each failure, duration)
  drain URL DIR FIRST N PID OUT
                            begin N requests to URL with pictures FIRST.. (each past the server's 100 Continue, half of
                            its body sent), SIGTERM PID, wait until a new connection is refused, then send the other
                            halves: OUT gets each answer's status and replica (a drained server finishes requests that
                            began before the signal)
"""
import http.client
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
import zlib
from concurrent.futures import ThreadPoolExecutor


def png(width, height, seed):
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            rows += bytes(((x * 4 + seed * 7) % 256, (y * 5 + seed * 13) % 256, ((x + y) * 3 + seed * 29) % 256))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + chunk(b"IEND", b""))


def picture_name(i):
    return f"picture{i:04d}.png"


def post(url, body, content_type):
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        connection.request("POST", parts.path + "/api/depth", body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def read_until(sock, marker):
    data = b""
    while marker not in data:
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def content_type(path):
    return "image/png" if path.endswith(".png") else "image/jpeg"


def main():
    command = sys.argv[1]
    if command == "pictures":
        folder, count = sys.argv[2], int(sys.argv[3])
        os.makedirs(folder, exist_ok=True)
        for i in range(count):
            with open(os.path.join(folder, picture_name(i)), "wb") as f:
                f.write(png(64, 48, i))
    elif command == "post":
        url, path, out = sys.argv[2:5]
        with open(path, "rb") as f:
            status, headers, body = post(url, f.read(), content_type(path))
        with open(out, "wb") as f:
            f.write(body)
        print(json.dumps({"status": status, "served_by": headers.get("x-served-by"), "computed_by": headers.get("x-computed-by"),
                          "cache": headers.get("x-cache"), "id": headers.get("x-result-id")}))
    elif command == "load":
        url, folder = sys.argv[2], sys.argv[3]
        first, count, concurrency, pid, after = (int(v) for v in sys.argv[4:9])
        out = sys.argv[9]
        lock = threading.Lock()
        answered = [0]
        outcomes = []
        start = time.monotonic()

        def one(i):
            with open(os.path.join(folder, picture_name(i)), "rb") as f:
                body = f.read()
            try:
                status, headers, _ = post(url, body, "image/png")
                outcome = {"picture": i, "status": status, "served_by": headers.get("x-served-by"), "cache": headers.get("x-cache")}
            except (OSError, http.client.HTTPException) as e:
                outcome = {"picture": i, "status": None, "error": repr(e)}
            outcome["at"] = round(time.monotonic() - start, 3)
            with lock:
                outcomes.append(outcome)
                answered[0] += 1
                reached = answered[0] == after
            if reached:
                os.kill(pid, signal.SIGKILL)

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(one, range(first, first + count)))
        by_replica = {}
        for o in outcomes:
            if o["status"] == 200:
                by_replica[o["served_by"]] = by_replica.get(o["served_by"], 0) + 1
        failures = [o for o in outcomes if o["status"] != 200]
        summary = {"requests": count, "ok": count - len(failures), "failed": len(failures), "by_replica": by_replica,
                   "seconds": round(time.monotonic() - start, 2), "failures": failures}
        with open(out, "w") as f:
            json.dump(summary, f, indent=1)
    elif command == "drain":
        url, folder = sys.argv[2], sys.argv[3]
        first, count, pid = (int(v) for v in sys.argv[4:7])
        out = sys.argv[7]
        parts = urllib.parse.urlsplit(url)
        started = []
        for i in range(first, first + count):
            with open(os.path.join(folder, picture_name(i)), "rb") as f:
                body = f.read()
            # Expect: 100-continue: the server's "100 Continue" says the request has reached the handler, reading its body.
            sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
            sock.sendall((f"POST /api/depth HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: image/png\r\n"
                          f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n").encode())
            interim = read_until(sock, b"\r\n\r\n")
            if not interim.startswith(b"HTTP/1.1 100"):
                sys.exit(f"expected 100 Continue, got {interim!r}")
            sock.sendall(body[:len(body) // 2])
            started.append((sock, body[len(body) // 2:]))
        os.kill(pid, signal.SIGTERM)
        refused = False
        for _ in range(20):
            time.sleep(0.25)
            try:
                socket.create_connection((parts.hostname, parts.port), timeout=5).close()
            except ConnectionRefusedError:
                refused = True
                break
        answers = []
        for sock, rest in started:
            try:
                sock.sendall(rest)
                response = b""
                while chunk := sock.recv(65536):
                    response += chunk
                head = response.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
                answers.append({"status": int(head[0].split()[1]), "served_by": headers.get("x-served-by")})
            except (OSError, ValueError, IndexError) as e:
                answers.append({"status": None, "error": repr(e)})
            finally:
                sock.close()
        with open(out, "w") as f:
            json.dump({"new_connection_refused": refused, "answers": answers,
                       "ok": sum(1 for a in answers if a["status"] == 200)}, f, indent=1)
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
