#!/usr/bin/env python3
"""Counts pixels in a PNG screenshot (8-bit RGB or RGBA, not interlaced, as
headless Chromium writes them), for tests that check a page was drawn.

usage: png_colors.py FILE.png [#rrggbb ...]
prints: "size WIDTH HEIGHT", "not_white N" (pixels that are not #ffffff),
"colors N" (distinct colors), then "#rrggbb N" for each color asked for."""
import struct
import sys
import zlib


def pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                sys.exit(f"{path}: unsupported PNG (depth {depth}, type {ctype})")
            channels = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride = zlib.decompress(idat), width * channels
    prev, out = bytearray(stride), []
    for y in range(height):
        base = y * (stride + 1)
        kind, line = raw[base], bytearray(raw[base + 1:base + 1 + stride])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
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
        out.append(bytes(line))
        prev = line
    return width, height, channels, out


def main():
    width, height, channels, rows = pixels(sys.argv[1])
    counts = {}
    for line in rows:
        for x in range(0, len(line), channels):
            rgb = line[x:x + 3]
            counts[rgb] = counts.get(rgb, 0) + 1
    print("size", width, height)
    print("not_white", width * height - counts.get(b"\xff\xff\xff", 0))
    print("colors", len(counts))
    for color in sys.argv[2:]:
        print(color, counts.get(bytes.fromhex(color.lstrip("#")), 0))


if __name__ == "__main__":
    main()
