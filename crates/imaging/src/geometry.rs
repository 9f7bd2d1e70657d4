//! Shapes from masks: connected components, convex hull, the smallest turned rectangle around
//! a set of points, and the sub-pixel refinement of a rectangle's edges on the full page.

use crate::image::{Image, Region};

/// A binary mask over the thumbnail.
pub(crate) struct Mask {
    pub width: usize,
    pub height: usize,
    pub bits: Vec<bool>,
}

/// One connected component as its runs of set pixels: `(y, x0, x1)`, `x0..x1` on row `y`,
/// top to bottom.
pub(crate) struct Component {
    /// The runs, in scan order.
    pub runs: Vec<(u32, u32, u32)>,
    /// Pixels in all.
    pub pixels: usize,
}

/// Connected components (8-connected) of the set pixels, largest first (in scan order of
/// their first pixel among equals); those under `min_pixels` are dropped. Runs of set pixels
/// are joined with the runs they touch in the row above (union-find), so the work is per run,
/// not per pixel.
pub(crate) fn components(mask: &Mask, min_pixels: usize) -> Vec<Component> {
    let w = mask.width;
    if w == 0 {
        return Vec::new();
    }
    let mut runs: Vec<(u32, u32, u32)> = Vec::new();
    let mut parent: Vec<usize> = Vec::new();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut prev = 0..0; // the previous row's runs, as indices into `runs`
    for (y, row) in mask.bits.chunks_exact(w).enumerate().take(mask.height) {
        let start = runs.len();
        let mut x = 0;
        while x < w {
            let Some(off) = row[x..].iter().position(|&b| b) else {
                break;
            };
            let x0 = x + off;
            let len = row[x0..].iter().position(|&b| !b).unwrap_or(w - x0);
            runs.push((y as u32, x0 as u32, (x0 + len) as u32));
            parent.push(runs.len() - 1);
            x = x0 + len;
        }
        // Join with the runs above that touch (diagonals included): runs are sorted by x0
        // in each row, so one pass over both rows.
        let mut j = prev.start;
        for i in start..runs.len() {
            let (_, c0, c1) = runs[i];
            while j < prev.end && runs[j].2 < c0 {
                j += 1;
            }
            let mut k = j;
            while k < prev.end && runs[k].1 <= c1 {
                let (a, b) = (root(&mut parent, i), root(&mut parent, k));
                if a != b {
                    // The earlier run stays the root, so a component's root is its first run.
                    parent[a.max(b)] = a.min(b);
                }
                k += 1;
            }
        }
        prev = start..runs.len();
    }
    // Gather the runs by root, in the order of each component's first run.
    let mut index = vec![usize::MAX; runs.len()];
    let mut out: Vec<Component> = Vec::new();
    for (i, &run) in runs.iter().enumerate() {
        let r = root(&mut parent, i);
        if index[r] == usize::MAX {
            index[r] = out.len();
            out.push(Component {
                runs: Vec::new(),
                pixels: 0,
            });
        }
        let c = &mut out[index[r]];
        c.runs.push(run);
        c.pixels += (run.2 - run.1) as usize;
    }
    out.retain(|c| c.pixels >= min_pixels);
    out.sort_by_key(|c| std::cmp::Reverse(c.pixels));
    out
}

/// Sets every unset pixel that is not reachable from the border through unset pixels (holes).
pub(crate) fn fill_holes(mask: &mut Mask) {
    let (w, h) = (mask.width, mask.height);
    let mut outside = vec![false; w * h];
    let mut stack: Vec<usize> = Vec::new();
    for x in 0..w {
        stack.push(x);
        stack.push((h - 1) * w + x);
    }
    for y in 0..h {
        stack.push(y * w);
        stack.push(y * w + w - 1);
    }
    while let Some(i) = stack.pop() {
        if mask.bits[i] || outside[i] {
            continue;
        }
        outside[i] = true;
        let (x, y) = (i % w, i / w);
        if x > 0 {
            stack.push(i - 1);
        }
        if x + 1 < w {
            stack.push(i + 1);
        }
        if y > 0 {
            stack.push(i - w);
        }
        if y + 1 < h {
            stack.push(i + w);
        }
    }
    for (b, o) in mask.bits.iter_mut().zip(&outside) {
        *b = !*o;
    }
}

/// Convex hull (Andrew's monotone chain) of the pixel corners of a component.
pub(crate) fn hull(comp: &Component) -> Vec<(f64, f64)> {
    // Only the extreme pixels of each row can be on the hull.
    let Some(max_y) = comp.runs.iter().map(|r| r.0).max() else {
        return Vec::new();
    };
    let mut rows = vec![(u32::MAX, 0u32); max_y as usize + 1];
    for &(y, x0, x1) in &comp.runs {
        let e = &mut rows[y as usize];
        e.0 = e.0.min(x0);
        e.1 = e.1.max(x1 - 1);
    }
    let mut pts: Vec<(f64, f64)> = Vec::with_capacity(rows.len() * 4);
    for (y, &(x0, x1)) in rows.iter().enumerate() {
        if x0 == u32::MAX {
            continue;
        }
        let (y, x0, x1) = (y as f64, x0 as f64, x1 as f64 + 1.0);
        pts.extend([(x0, y), (x0, y + 1.0), (x1, y), (x1, y + 1.0)]);
    }
    pts.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let cross = |o: (f64, f64), a: (f64, f64), b: (f64, f64)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut lower: Vec<(f64, f64)> = Vec::new();
    for &p in &pts {
        while lower.len() >= 2 && cross(lower[lower.len() - 2], lower[lower.len() - 1], p) <= 0.0 {
            lower.pop();
        }
        lower.push(p);
    }
    let mut upper: Vec<(f64, f64)> = Vec::new();
    for &p in pts.iter().rev() {
        while upper.len() >= 2 && cross(upper[upper.len() - 2], upper[upper.len() - 1], p) <= 0.0 {
            upper.pop();
        }
        upper.push(p);
    }
    lower.pop();
    upper.pop();
    lower.extend(upper);
    lower
}

/// The smallest-area turned rectangle around a convex polygon (one of its sides lies on a hull
/// edge), with the turn normalised to −45..45°.
pub(crate) fn min_area_rect(hull: &[(f64, f64)]) -> Option<Region> {
    if hull.len() < 3 {
        return None;
    }
    let mut best: Option<(f64, Region)> = None;
    for i in 0..hull.len() {
        let a = hull[i];
        let b = hull[(i + 1) % hull.len()];
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len = (dx * dx + dy * dy).sqrt();
        if len < 1e-9 {
            continue;
        }
        let (ux, uy) = (dx / len, dy / len);
        let (mut u0, mut u1, mut v0, mut v1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for p in hull {
            let u = p.0 * ux + p.1 * uy;
            let v = -p.0 * uy + p.1 * ux;
            u0 = u0.min(u);
            u1 = u1.max(u);
            v0 = v0.min(v);
            v1 = v1.max(v);
        }
        let area = (u1 - u0) * (v1 - v0);
        if best.as_ref().is_none_or(|(a, _)| area < *a) {
            let (cu, cv) = ((u0 + u1) / 2.0, (v0 + v1) / 2.0);
            let center = (cu * ux - cv * uy, cu * uy + cv * ux);
            // Direction (ux, uy) is the region's u axis: (cos a, −sin a).
            let mut angle = (-uy).atan2(ux).to_degrees();
            let mut size = (u1 - u0, v1 - v0);
            while angle > 45.0 {
                angle -= 90.0;
                size = (size.1, size.0);
            }
            while angle <= -45.0 {
                angle += 90.0;
                size = (size.1, size.0);
            }
            best = Some((
                area,
                Region {
                    center,
                    size,
                    angle_deg: angle,
                },
            ));
        }
    }
    best.map(|(_, r)| r)
}

/// Moves each side of `region` onto the brightness edge nearest it on the full page (within
/// `reach` pixels), by sampling profiles across the side, finding where each crosses halfway
/// between the levels on either side, and fitting a line through the crossings (one round of
/// outlier rejection). Returns `None` when a side has too few usable crossings.
pub(crate) fn refine(img: &Image, region: &Region, reach: f64) -> Option<Region> {
    let (hw, hh) = (region.size.0 / 2.0, region.size.1 / 2.0);
    // Sides as (fixed coordinate sign, along-axis half length, is_horizontal).
    // For each: points (s, e) where s runs along the side and e is the offset of the edge
    // along the outward normal from the side's nominal position.
    let mut lines = [(0.0f64, 0.0f64); 4]; // (a, b): offset = a + b * s
    let sides = [(0usize, hh, hw), (1, hw, hh), (2, hh, hw), (3, hw, hh)]; // top, right, bottom, left
    for (side, dist, half_len) in sides {
        let n = 48usize;
        let mut pts: Vec<(f64, f64)> = Vec::with_capacity(n);
        for k in 0..n {
            let s = -half_len * 0.85 + 1.7 * half_len * (k as f64 + 0.5) / n as f64;
            // Region-frame point on the side and the outward normal.
            let (pu, pv, nu, nv) = match side {
                0 => (s, -dist, 0.0, -1.0),
                1 => (dist, s, 1.0, 0.0),
                2 => (s, dist, 0.0, 1.0),
                _ => (-dist, s, -1.0, 0.0),
            };
            let steps = (reach * 4.0).ceil() as i32;
            let profile: Vec<f64> = (-steps..=steps)
                .map(|i| {
                    let t = i as f64 * 0.25;
                    let (x, y) = region.to_image(pu + nu * t, pv + nv * t);
                    img.luma_at(x, y)
                })
                .collect();
            let m = profile.len();
            let inside = (profile[0] + profile[1] + profile[2]) / 3.0;
            let outside = (profile[m - 1] + profile[m - 2] + profile[m - 3]) / 3.0;
            if (inside - outside).abs() < 20.0 {
                continue;
            }
            let thr = (inside + outside) / 2.0;
            // Crossing nearest the nominal edge (index steps).
            let mut best: Option<f64> = None;
            for i in 0..m - 1 {
                let (a, b) = (profile[i] - thr, profile[i + 1] - thr);
                if (a <= 0.0) != (b <= 0.0) || a == 0.0 {
                    let f = if (a - b).abs() < 1e-12 {
                        0.0
                    } else {
                        a / (a - b)
                    };
                    let t = ((i as f64 + f) - steps as f64) * 0.25;
                    if best.is_none_or(|bt| t.abs() < bt.abs()) {
                        best = Some(t);
                    }
                }
            }
            if let Some(t) = best {
                pts.push((s, t));
            }
        }
        lines[side] = fit_line(&pts)?;
    }
    // Side lines in the region frame: top v = −hh − (a + b u); bottom v = hh + (a + b u);
    // right u = hw + (a + b v); left u = −hw − (a + b v).
    let top = |u: f64| -hh - (lines[0].0 + lines[0].1 * u);
    let bottom = |u: f64| hh + (lines[2].0 + lines[2].1 * u);
    let right = |v: f64| hw + (lines[1].0 + lines[1].1 * v);
    let left = |v: f64| -hw - (lines[3].0 + lines[3].1 * v);
    // Intersect by a few fixed-point steps (the slopes are tiny).
    let meet = |fu: &dyn Fn(f64) -> f64, fv: &dyn Fn(f64) -> f64, u0: f64, v0: f64| {
        let (mut u, mut v) = (u0, v0);
        for _ in 0..8 {
            v = fv(u);
            u = fu(v);
        }
        region.to_image(u, v)
    };
    let tl = meet(&left, &top, -hw, -hh);
    let tr = meet(&right, &top, hw, -hh);
    let br = meet(&right, &bottom, hw, hh);
    let bl = meet(&left, &bottom, -hw, hh);
    Some(from_corners([tl, tr, br, bl]))
}

/// Least-squares line `e = a + b s`, refitted once without points off by more than 1.5 px
/// or 3 median deviations.
fn fit_line(pts: &[(f64, f64)]) -> Option<(f64, f64)> {
    let fit = |p: &[(f64, f64)]| -> Option<(f64, f64)> {
        if p.len() < 6 {
            return None;
        }
        let n = p.len() as f64;
        let (ms, me) = (
            p.iter().map(|q| q.0).sum::<f64>() / n,
            p.iter().map(|q| q.1).sum::<f64>() / n,
        );
        let sxx: f64 = p.iter().map(|q| (q.0 - ms).powi(2)).sum();
        let sxy: f64 = p.iter().map(|q| (q.0 - ms) * (q.1 - me)).sum();
        let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        Some((me - b * ms, b))
    };
    let (a, b) = fit(pts)?;
    let mut res: Vec<f64> = pts.iter().map(|q| (q.1 - a - b * q.0).abs()).collect();
    let mut sorted = res.clone();
    sorted.sort_by(|x, y| x.partial_cmp(y).expect("finite"));
    let mad = sorted[sorted.len() / 2];
    let limit = (3.0 * mad).clamp(0.5, 1.5);
    let kept: Vec<(f64, f64)> = pts
        .iter()
        .zip(res.iter_mut())
        .filter(|(_, r)| **r <= limit)
        .map(|(p, _)| *p)
        .collect();
    fit(&kept).or(Some((a, b)))
}

/// The region whose corners (top-left, top-right, bottom-right, bottom-left) these are,
/// averaging opposite sides.
pub(crate) fn from_corners(c: [(f64, f64); 4]) -> Region {
    let [tl, tr, br, bl] = c;
    let ang = |p: (f64, f64), q: (f64, f64)| (-(q.1 - p.1)).atan2(q.0 - p.0);
    let ang_v = |p: (f64, f64), q: (f64, f64)| (q.0 - p.0).atan2(q.1 - p.1);
    let angles = [ang(tl, tr), ang(bl, br), ang_v(tl, bl), ang_v(tr, br)];
    let angle = angles.iter().sum::<f64>() / 4.0;
    let dist = |p: (f64, f64), q: (f64, f64)| ((q.0 - p.0).powi(2) + (q.1 - p.1).powi(2)).sqrt();
    Region {
        center: (
            (tl.0 + tr.0 + br.0 + bl.0) / 4.0,
            (tl.1 + tr.1 + br.1 + bl.1) / 4.0,
        ),
        size: (
            (dist(tl, tr) + dist(bl, br)) / 2.0,
            (dist(tl, bl) + dist(tr, br)) / 2.0,
        ),
        angle_deg: angle.to_degrees(),
    }
}
