#!/usr/bin/env python3
"""Writes eight crops of an 8-bit RGB PNG (as `depthsharp convert` writes it), at several places and sizes, for the
Slurm and RabbitMQ tests' pictures (make_pictures in .ci/lib.sh).

Usage: crop_png.py SOURCE.png OUT_PREFIX  ->  OUT_PREFIX-0.png ... OUT_PREFIX-7.png
Plain zlib: the tests need no imaging package on the CI machine.
"""
import struct
import sys
import zlib


def read_rgb8(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if (depth, colour, interlace) != (8, 2, 0):
        sys.exit(f"{path}: expected 8-bit RGB, not interlaced")
    raw, stride, rows, prev = zlib.decompress(idat), width * 3, [], bytearray(width * 3)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - 3] if i >= 3 else 0
            b, c = prev[i], (prev[i - 3] if i >= 3 else 0)
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return width, height, rows


def write_rgb8(path, rows, width):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    raw = b"".join(b"\x00" + bytes(r) for r in rows)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, len(rows), 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def boxes(width, height):
    """The eight crops (x, y, w, h): 4/9 to 8/9 of each side, spread across the picture."""
    for f in range(1, 9):
        w, h = width * (4 + f % 5) // 9, height * (4 + (f * 3) % 5) // 9
        yield (width - w) * f // 9, (height - h) * (9 - f) // 9, w, h


width, height, rows = read_rgb8(sys.argv[1])
for n, (x, y, w, h) in enumerate(boxes(width, height)):
    if not (0 <= x and 0 <= y and w > 0 and h > 0 and x + w <= width and y + h <= height):
        sys.exit(f"crop {x},{y},{w},{h} is outside {width}x{height}")
    write_rgb8(f"{sys.argv[2]}-{n}.png", [r[x * 3:(x + w) * 3] for r in rows[y:y + h]], w)
