#!/usr/bin/env python3
"""Decode protocol/data/provinces.bin in pure Python and score it against the test points.

Usage::

    python3 tools/provinces/check.py [--bin protocol/data/provinces.bin]
                                     [--points core/tests/data/province_points.csv]

The lookup is the one the Rust `province_at` implements (see build.py for the format):

    x = round(lon * 1e5) - lon0;  y = round(lat * 1e5) - lat0   (round half away from zero)
    outside the grid -> None
    col = x // cell; row = y // cell; dx = x - col*cell; dy = y - row*cell
    word = cells[row*cols + col]
    0 -> None;  high bit set -> province (word & 0x7fffffff)
    else entry at blob[word-1]: for each province in order, even-odd crossing test of (dx, dy)
    against all its rings; the first odd one wins; none -> None.

The crossing test uses exact integer arithmetic (no division):
edge (xi, yi)-(xj, yj) counts if (yi > py) != (yj > py) and
px < (xj - xi) * (py - yi) / (yj - yi) + xi, evaluated as
(px - xi) * (yj - yi) < (xj - xi) * (py - yi) when yj > yi, and with the inequality
flipped when yj < yi.  All values fit easily in i64.

Exit status is 1 if a requirement fails: cpca >= 99.9 %, hand 100 %, abroad all None.
No third-party modules are needed.
"""

import argparse
import collections
import csv
import math
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


class Provinces:
    def __init__(self, data):
        if data[:4] != b"SPPV":
            raise ValueError("bad magic")
        version, n = struct.unpack_from("<HH", data, 4)
        if version != 1:
            raise ValueError(f"unsupported version {version}")
        off = 8
        self.codes = [data[off + 2 * i: off + 2 * i + 2].decode("ascii") for i in range(n)]
        off += 2 * n
        self.lon0, self.lat0, self.cell, self.cols, self.rows = struct.unpack_from(
            "<iiIHH", data, off)
        off += 16
        ncells = self.cols * self.rows
        self.cells = struct.unpack_from(f"<{ncells}I", data, off)
        off += 4 * ncells
        (blob_len,) = struct.unpack_from("<I", data, off)
        off += 4
        self.blob = data[off: off + blob_len]
        if off + blob_len != len(data):
            raise ValueError("trailing bytes / truncated blob")
        self.size = len(data)
        self._cache = {}

    def entry(self, offset):
        """Decoded mixed entry: list of (province idx, [ring, ...]), ring = [(dx, dy), ...]."""
        e = self._cache.get(offset)
        if e is not None:
            return e
        b = self.blob
        p = offset
        k = b[p]
        p += 1
        e = []
        for _ in range(k):
            idx, r = struct.unpack_from("<BH", b, p)
            p += 3
            rings = []
            for _ in range(r):
                (v,) = struct.unpack_from("<H", b, p)
                p += 2
                flat = struct.unpack_from(f"<{2 * v}H", b, p)
                p += 4 * v
                rings.append(list(zip(flat[0::2], flat[1::2])))
            e.append((idx, rings))
        self._cache[offset] = e
        return e

    def index_at(self, lat, lon):
        x = round_half_away(lon * 1e5) - self.lon0
        y = round_half_away(lat * 1e5) - self.lat0
        if x < 0 or y < 0:
            return None
        col, row = x // self.cell, y // self.cell
        if col >= self.cols or row >= self.rows:
            return None
        dx, dy = x - col * self.cell, y - row * self.cell
        w = self.cells[row * self.cols + col]
        if w == 0:
            return None
        if w & 0x80000000:
            return w & 0x7FFFFFFF
        for idx, rings in self.entry(w - 1):
            if point_in_rings(dx, dy, rings):
                return idx
        return None

    def province_at(self, lat, lon):
        i = self.index_at(lat, lon)
        return None if i is None else self.codes[i]

    def iter_entries(self):
        seen = set()
        for w in self.cells:
            if w and not w & 0x80000000 and w not in seen:
                seen.add(w)
                yield self.entry(w - 1)


def round_half_away(v):
    """Rust's f64::round (ties away from zero); Python's round() would round ties to even."""
    return math.floor(v + 0.5) if v >= 0 else -math.floor(-v + 0.5)


def point_in_rings(px, py, rings):
    inside = False
    for ring in rings:
        n = len(ring)
        xj, yj = ring[n - 1]
        for xi, yi in ring:
            if (yi > py) != (yj > py):
                # px < (xj-xi)*(py-yi)/(yj-yi) + xi, without division
                lhs = (px - xi) * (yj - yi)
                rhs = (xj - xi) * (py - yi)
                if (lhs < rhs) if yj > yi else (lhs > rhs):
                    inside = not inside
            xj, yj = xi, yi
    return inside


def main():
    ap = argparse.ArgumentParser(description="score provinces.bin against the test points")
    ap.add_argument("--bin", default=os.path.join(REPO, "protocol", "data", "provinces.bin"))
    ap.add_argument("--points",
                    default=os.path.join(REPO, "core", "tests", "data", "province_points.csv"))
    args = ap.parse_args()

    with open(args.bin, "rb") as fh:
        prov = Provinces(fh.read())
    stored_vertices = rings = entries = 0
    max_entry_vertices = 0
    for e in prov.iter_entries():
        entries += 1
        nv = sum(len(r) for _, rs in e for r in rs)
        stored_vertices += nv
        rings += sum(len(rs) for _, rs in e)
        max_entry_vertices = max(max_entry_vertices, nv)
    kinds = collections.Counter(
        "empty" if w == 0 else "full" if w & 0x80000000 else "mixed" for w in prov.cells)
    print(f"file {args.bin}: {prov.size} bytes; {len(prov.codes)} provinces")
    print(f"grid lon0={prov.lon0} lat0={prov.lat0} cell={prov.cell} cols={prov.cols} "
          f"rows={prov.rows}; cells full {kinds['full']} mixed {kinds['mixed']} "
          f"empty {kinds['empty']}")
    print(f"blob {len(prov.blob)} bytes: {entries} distinct entries, {rings} rings, "
          f"{stored_vertices} vertices (largest cell {max_entry_vertices} vertices)")

    results = collections.defaultdict(lambda: [0, 0])
    misses = collections.defaultdict(list)
    with open(args.points, encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            want = r["code"] or None
            got = prov.province_at(float(r["latitude"]), float(r["longitude"]))
            res = results[r["source"]]
            res[1] += 1
            if got == want:
                res[0] += 1
            else:
                misses[r["source"]].append((r["name"], r["latitude"], r["longitude"], want, got))
    ok = True
    for src in ("cpca", "geonames", "hand", "abroad"):
        good, total = results.get(src, (0, 0))
        pct = 100.0 * good / total if total else 0.0
        print(f"{src:9s} {good:5d} / {total:5d}  {pct:8.3f} %")
        for name, lat, lon, want, got in misses.get(src, []):
            print(f"    miss: {name} ({lat}, {lon}) expected {want} got {got}")
    for src in sorted(set(results) - {"cpca", "geonames", "hand", "abroad"}):
        print(f"{src}: {results[src]}")
    c_good, c_total = results.get("cpca", (0, 0))
    if not c_total or c_good < 0.999 * c_total:
        ok = False
        print("FAIL: cpca below 99.9 %")
    for src in ("hand", "abroad"):
        good, total = results.get(src, (0, 0))
        if not total or good != total:
            ok = False
            print(f"FAIL: {src} not 100 %")
    if prov.size > 2_000_000:
        ok = False
        print("FAIL: file larger than 2 MB")
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
