//! Which province a WGS-84 position is in, offline, from embedded boundaries
//! (`protocol/data/provinces.bin`, made by `tools/provinces/build.py`; source, licence and accuracy
//! in `protocol/data/PROVENANCE.md` and docs/regions.md).
//!
//! The file is a grid of cells over China. A cell is empty (sea or abroad), wholly inside one
//! province, or mixed: then it holds each province's boundary clipped to the cell, as rings of
//! vertices relative to the cell's south-west corner (u16, 1e-5 degree, about a metre). A
//! lookup reads one cell word and, for a mixed cell, casts a ray against the few rings of that
//! cell only. Nothing is decoded at start-up beyond the header; the lookup reads the embedded
//! bytes in place.

use std::sync::OnceLock;

/// The embedded data (see module docs); about a megabyte, within the 2 MB budget.
static DATA: &[u8] = include_bytes!("../data/provinces.bin");

/// Units per degree in the file.
const SCALE: f64 = 1e5;
const FULL: u32 = 0x8000_0000;

/// The parsed header: where the cell words and the blob of mixed cells are in [`DATA`].
#[derive(Debug)]
pub(crate) struct Grid {
    codes: Vec<&'static str>,
    lon0: i64,
    lat0: i64,
    cell: i64,
    cols: i64,
    rows: i64,
    cells: &'static [u8],
    blob: &'static [u8],
}

/// A malformed data file; only possible if the build shipped a broken file, which the tests
/// below would catch, so the lookup treats it as "no answer" rather than a panic.
#[derive(Debug)]
pub(crate) struct Malformed(&'static str);

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or(Malformed("truncated"))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, Malformed> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, Malformed> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i32(&mut self) -> Result<i32, Malformed> {
        Ok(self.u32()? as i32)
    }
}

impl Grid {
    pub(crate) fn parse(bytes: &'static [u8]) -> Result<Grid, Malformed> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(4)? != b"SPPV" {
            return Err(Malformed("magic"));
        }
        if r.u16()? != 1 {
            return Err(Malformed("version"));
        }
        let n = r.u16()?;
        let mut codes = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            let code = std::str::from_utf8(r.take(2)?).map_err(|_| Malformed("code"))?;
            if !crate::provinces::is_province_code(code) {
                return Err(Malformed("unknown province code"));
            }
            codes.push(code);
        }
        let lon0 = i64::from(r.i32()?);
        let lat0 = i64::from(r.i32()?);
        let cell = i64::from(r.u32()?);
        let cols = i64::from(r.u16()?);
        let rows = i64::from(r.u16()?);
        if !(1..=i64::from(u16::MAX)).contains(&cell) {
            return Err(Malformed("cell size"));
        }
        let cells = r.take((cols * rows * 4) as usize)?;
        let blob_len = r.u32()? as usize;
        let blob = r.take(blob_len)?;
        if r.at != bytes.len() {
            return Err(Malformed("trailing bytes"));
        }
        Ok(Grid { codes, lon0, lat0, cell, cols, rows, cells, blob })
    }

    /// The province code at a position, or `None` (sea, abroad, or outside the grid).
    pub(crate) fn code_at(&self, latitude: f64, longitude: f64) -> Option<&'static str> {
        // Also keeps the arithmetic below far from overflow, whatever the caller passes.
        if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
            return None;
        }
        let x = (longitude * SCALE).round() as i64 - self.lon0;
        let y = (latitude * SCALE).round() as i64 - self.lat0;
        if x < 0 || y < 0 {
            return None;
        }
        let (col, row) = (x / self.cell, y / self.cell);
        if col >= self.cols || row >= self.rows {
            return None;
        }
        let at = ((row * self.cols + col) * 4) as usize;
        let w = &self.cells[at..at + 4];
        let word = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        let index = match word {
            0 => return None,
            w if w & FULL != 0 => (w & 0xFF) as usize,
            w => {
                let point = (x - col * self.cell, y - row * self.cell);
                self.mixed(w as usize - 1, point).ok()??
            }
        };
        self.codes.get(index).copied()
    }

    /// The first province of a mixed cell whose rings contain `point` (even-odd rule over all
    /// of that province's rings, so holes and exclaves need no special case).
    fn mixed(&self, offset: usize, (px, py): (i64, i64)) -> Result<Option<usize>, Malformed> {
        let mut r = Reader { bytes: self.blob, at: offset };
        let provinces = r.u8()?;
        for _ in 0..provinces {
            let index = usize::from(r.u8()?);
            let rings = r.u16()?;
            let mut inside = false;
            for _ in 0..rings {
                let n = usize::from(r.u16()?);
                let vertices = r.take(n * 4)?;
                inside ^= ring_crossings_odd(vertices, px, py);
            }
            if inside {
                return Ok(Some(index));
            }
        }
        Ok(None)
    }
}

/// Whether a ray from (px, py) towards +x crosses the closed ring an odd number of times.
/// `vertices` is packed (u16 x, u16 y) little-endian. Integer arithmetic: exact.
fn ring_crossings_odd(vertices: &[u8], px: i64, py: i64) -> bool {
    let vertex = |i: usize| {
        let v = &vertices[i * 4..i * 4 + 4];
        (i64::from(u16::from_le_bytes([v[0], v[1]])), i64::from(u16::from_le_bytes([v[2], v[3]])))
    };
    let n = vertices.len() / 4;
    if n < 3 {
        return false;
    }
    let mut odd = false;
    let (mut xj, mut yj) = vertex(n - 1);
    for i in 0..n {
        let (xi, yi) = vertex(i);
        if (yi > py) != (yj > py) {
            // px < xi + (xj - xi) * (py - yi) / (yj - yi), multiplied out by (yj - yi) with
            // its sign taken into account, so no division and no rounding.
            let lhs = (px - xi) * (yj - yi);
            let rhs = (xj - xi) * (py - yi);
            if (yj > yi && lhs < rhs) || (yj < yi && lhs > rhs) {
                odd = !odd;
            }
        }
        (xj, yj) = (xi, yi);
    }
    odd
}

/// The embedded grid, parsed once.
pub(crate) fn grid() -> Option<&'static Grid> {
    static GRID: OnceLock<Option<Grid>> = OnceLock::new();
    GRID.get_or_init(|| match Grid::parse(DATA) {
        Ok(g) => Some(g),
        Err(Malformed(what)) => {
            tracing::error!(what, "the embedded province boundaries are malformed");
            None
        }
    })
    .as_ref()
}

/// Size of the embedded data in bytes (reported in docs and checked against the budget).
pub fn data_size() -> usize {
    DATA.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(points: &[(u16, u16)]) -> Vec<u8> {
        points.iter().flat_map(|(x, y)| [x.to_le_bytes(), y.to_le_bytes()].concat()).collect()
    }

    #[test]
    fn ray_casting_is_exact_on_a_square_and_its_hole() {
        let outer = square(&[(0, 0), (100, 0), (100, 100), (0, 100)]);
        assert!(ring_crossings_odd(&outer, 50, 50));
        assert!(ring_crossings_odd(&outer, 1, 99));
        assert!(!ring_crossings_odd(&outer, 150, 50));
        assert!(!ring_crossings_odd(&outer, 50, 100), "top edge is outside (half-open rule)");
        // A reversed (clockwise) ring gives the same answer.
        let clockwise = square(&[(0, 0), (0, 100), (100, 100), (100, 0)]);
        assert!(ring_crossings_odd(&clockwise, 50, 50));
        // A diagonal edge: the triangle (0,0) (100,0) (0,100) holds (49,50) but not (51,50).
        let triangle = square(&[(0, 0), (100, 0), (0, 100)]);
        assert!(ring_crossings_odd(&triangle, 49, 50));
        assert!(!ring_crossings_odd(&triangle, 51, 50));
    }

    #[test]
    fn the_embedded_file_parses_and_stays_within_budget() {
        let g = grid().expect("embedded data parses");
        assert_eq!(g.codes.len(), 34);
        assert!(data_size() <= 2 * 1024 * 1024, "{} bytes", data_size());
    }

    #[test]
    fn broken_files_are_refused_not_panicked_on() {
        for cut in [0, 3, 8, 20, 100, DATA.len() / 2, DATA.len() - 1] {
            assert!(Grid::parse(&DATA[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = DATA.to_vec();
        bad[0] = b'X';
        let bad: &'static [u8] = Box::leak(bad.into_boxed_slice());
        assert!(Grid::parse(bad).is_err());
    }
}
