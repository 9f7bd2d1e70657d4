//! `scanwire devices` and `scanwire caps`: what there is and what it can do.

use crate::args::{CapsArgs, DevicesArgs};
use crate::devices;
use anyhow::Result;
use scanwire_core::device::{Capabilities, DeviceOption, OptionValue, Resolutions};
use serde_json::{json, Value};

pub fn devices(args: &DevicesArgs) -> Result<i32> {
    if args.discover && !(args.discover_time.is_finite() && args.discover_time > 0.0) {
        return Err(crate::scan::Usage(format!(
            "--discover-time {}: seconds must be a number > 0",
            args.discover_time
        ))
        .into());
    }
    let found = devices::list(
        args.discover
            .then(|| std::time::Duration::from_secs_f64(args.discover_time)),
    );
    if args.json {
        let list: Vec<Value> = found
            .iter()
            .flat_map(|(_, r)| r.iter().flatten())
            .map(|d| json!({"id": d.id, "vendor": d.vendor, "model": d.model, "driver": d.driver}))
            .collect();
        let problems: Vec<Value> = found
            .iter()
            .filter_map(|(name, r)| {
                r.as_ref()
                    .err()
                    .map(|e| json!({"driver": name, "error": e}))
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({"devices": list, "unavailable": problems}))?
        );
        return Ok(0);
    }
    outln!("{:<28} {:<10} {:<12} MODEL", "DEVICE", "DRIVER", "VENDOR");
    for (name, r) in &found {
        match r {
            Ok(list) => {
                for d in list {
                    outln!("{:<28} {:<10} {:<12} {}", d.id, d.driver, d.vendor, d.model);
                }
                if list.is_empty() && args.verbose {
                    eprintln!("{name}: no devices found");
                }
            }
            Err(e) if args.verbose => eprintln!("{name}: {e}"),
            Err(_) => {}
        }
    }
    if !args.verbose && found.iter().any(|(_, r)| r.is_err()) {
        eprintln!("(some drivers are unavailable; `scanwire devices --verbose` says why)");
    }
    Ok(0)
}

pub fn caps(args: &CapsArgs) -> Result<i32> {
    let mut device = devices::open(&args.device)?;
    let caps = device
        .capabilities()
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.device))?;
    let extra = device.options();
    if args.json {
        let mut v = caps_json(&caps);
        v["id"] = json!(args.device);
        v["options"] = json!(extra.iter().map(option_json).collect::<Vec<_>>());
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    outln!("{} ({})", caps.model, args.device);
    for s in &caps.sources {
        outln!("  source {}:", s.source);
        outln!("    modes:       {}", join(s.modes.iter()));
        outln!("    resolutions: {} dpi", s.resolutions);
        outln!(
            "    area:        up to {:.1} x {:.1} mm (-l -t -x -y)",
            s.max_area.width.as_mm(),
            s.max_area.height.as_mm()
        );
        if let Some(c) = s.feeder_capacity {
            outln!("    feeder:      {c} sheets");
        }
        if !s.encodings.is_empty() {
            outln!(
                "    encodings:   {}",
                join(s.encodings.iter().map(|e| e.mime()))
            );
        }
    }
    if !extra.is_empty() {
        outln!("  options (--set NAME=VALUE):");
        for o in &extra {
            outln!("    {o}");
        }
    }
    Ok(0)
}

/// One option in `caps --json`: its value typed (bool, number, string or null), what it
/// allows in words, and the sources it applies to (empty: every source).
fn option_json(o: &DeviceOption) -> Value {
    let value = match &o.value {
        None => Value::Null,
        Some(OptionValue::Bool(b)) => json!(b),
        Some(OptionValue::Int(n)) => json!(n),
        Some(OptionValue::Fixed(x)) => json!(x),
        Some(OptionValue::Text(t)) => json!(t),
    };
    json!({
        "name": o.name,
        "type": o.kind.name(),
        "unit": o.unit,
        "constraint": o.allowed_text(),
        "value": value,
        "help": o.help,
        "sources": o.sources.iter().map(|s| s.cli_name()).collect::<Vec<_>>(),
    })
}

fn join<T: std::fmt::Display>(it: impl Iterator<Item = T>) -> String {
    it.map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
}

pub fn caps_json(caps: &Capabilities) -> Value {
    json!({
        "model": caps.model,
        "sources": caps.sources.iter().map(|s| json!({
            "source": s.source.cli_name(),
            "modes": s.modes.iter().map(|m| m.cli_name()).collect::<Vec<_>>(),
            "resolutions": match &s.resolutions {
                Resolutions::Discrete(v) => json!({"discrete": v}),
                Resolutions::Range { min, max, step } => json!({"min": min, "max": max, "step": step}),
            },
            "max_width_mm": s.max_area.width.as_mm(),
            "max_height_mm": s.max_area.height.as_mm(),
            "feeder_capacity": s.feeder_capacity,
            "encodings": s.encodings.iter().map(|e| e.mime()).collect::<Vec<_>>(),
            "raw": s.raw,
        })).collect::<Vec<_>>(),
    })
}
