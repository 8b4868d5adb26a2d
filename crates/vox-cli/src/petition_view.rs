//! `vox authority petition show ID`: a petition as the public API shows it (no key).

use anyhow::{Context, Result};
use serde_json::Value;
use vox_protocol::petition::SignatureScheme;

use crate::client::{enc, Client, PetitionDetail};
use crate::clock;

/// Fetch petition `id` from the public API and print it.
pub fn show_petition(public: &Client, id: &str) -> Result<()> {
    let raw: Value = public.get(&format!("/api/v1/petitions/{}", enc(id)))?;
    let detail: PetitionDetail = serde_json::from_value(raw.clone())
        .with_context(|| format!("the server's answer for petition {id} is not a petition"))?;
    print!("{}", format_petition(&detail, &raw, clock::now_ms()));
    Ok(())
}

/// A threshold from the answer's `thresholds` object (the board's rules), else the
/// petition's own field.
fn threshold(raw: &Value, name: &str, own: u32) -> u64 {
    raw.get("thresholds")
        .and_then(|t| t.get(name))
        .and_then(Value::as_u64)
        .unwrap_or_else(|| u64::from(own))
}

/// The text `petition show` prints (every time absolute, in UTC, and relative to `now`).
pub fn format_petition(d: &PetitionDetail, raw: &Value, now: i64) -> String {
    let p = &d.petition;
    let stage = d.stage.as_str();
    let sponsors = threshold(raw, "sponsor", p.sponsor_threshold);
    let response = threshold(raw, "response", p.response_threshold);
    let referendum = threshold(raw, "referendum", p.referendum_threshold);
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!("petition {}: {stage}", p.id));
    line(format!("  action:      {}", p.action));
    if !p.background.is_empty() {
        line(format!("  background:  {}", p.background));
    }
    if !p.details.is_empty() {
        line(format!("  details:     {}", p.details));
    }
    line(format!("  electorate:  {}", p.electorate_hash));
    line(match p.signatures {
        SignatureScheme::Ring => {
            "  signed by:   ring signatures (a signature names its ring and a \
                                  linking tag, never the citizen; the proposer counts only by \
                                  signing)"
                .to_owned()
        }
        SignatureScheme::Credential => {
            "  signed by:   credentials (anyone can list who signed)".to_owned()
        }
    });
    match stage {
        "proposed" | "awaiting-moderation" => line(format!(
            "  sponsors:    {} of {sponsors} required{}",
            d.count,
            if d.count >= sponsors {
                " (reached: awaiting moderation)"
            } else {
                ""
            }
        )),
        _ => line(format!(
            "  signatures:  {} (sponsors required before moderation: {sponsors})",
            d.count
        )),
    }
    line(format!(
        "  thresholds:  response at {response} signatures, referendum at {referendum} signatures"
    ));
    let reached: Vec<&str> = d.thresholds_reached.iter().map(|k| k.as_str()).collect();
    if !reached.is_empty() {
        line(format!("  reached:     {}", reached.join(", ")));
    }
    if let Some(t) = raw.get("proposed_at").and_then(Value::as_i64) {
        line(format!("  proposed:    {}", clock::describe_time(t, now)));
    }
    match d.closes_at {
        Some(t) => line(format!("  closes:      {}", clock::describe_time(t, now))),
        None => line(format!(
            "  open for:    {} once published (closing time set at publication)",
            clock::format_duration(p.open_for_ms)
        )),
    }
    match d.response_due_by {
        Some(t) => line(format!(
            "  response due: {}{}",
            clock::describe_time(t, now),
            if d.response_overdue {
                " — OVERDUE"
            } else {
                ""
            }
        )),
        None => line(format!(
            "  response due: {} after the response threshold is reached",
            clock::format_duration(p.response_due_ms)
        )),
    }
    if let Some(r) = &d.response {
        line(format!("  response:    {r}"));
    }
    if let Some(r) = raw.get("rejection_reason").and_then(Value::as_str) {
        line(format!("  rejected:    {r}"));
    }
    if let Some(r) = &d.referendum_id {
        line(format!("  referendum:  {r}"));
    }
    let invalidated: u64 = raw
        .get("invalidations")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|i| i.get("count").and_then(Value::as_u64))
                .sum()
        })
        .unwrap_or(0);
    if invalidated > 0 {
        line(format!("  invalidated: {invalidated} signature(s)"));
    }
    line(format!(
        "  regions:     groups under {} signers are not reported separately",
        p.region_min_group
    ));
    for (region, n) in &d.region_counts {
        line(format!("    {region:<20} {n:>8}"));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn shows_thresholds_deadlines_and_sponsors() {
        let now = 1_767_225_600_000; // 2026-01-01T00:00:00Z
        let raw = serde_json::json!({
            "petition": {
                "id": "p1",
                "action": "Build a cycle lane",
                "background": "Safety",
                "details": "",
                "electorate_hash": "00".repeat(32),
                "sponsor_threshold": 3,
                "response_threshold": 5,
                "referendum_threshold": 8,
                "open_for_ms": 30 * clock::DAY_MS,
                "response_due_ms": 10 * clock::DAY_MS,
                "region_min_group": 2
            },
            "petition_hash": "11".repeat(32),
            "stage": "proposed",
            "count": 1,
            "region_counts": [],
            "closes_at": null,
            "response_due_by": null,
            "thresholds_reached": [],
            "thresholds": {"sponsor": 3, "response": 5, "referendum": 8},
            "response_overdue": false,
            "invalidations": [],
            "leaf_index": 7,
            "proposed_at": now - 3_600_000
        });
        let d: PetitionDetail = serde_json::from_value(raw.clone()).unwrap();
        let text = format_petition(&d, &raw, now);
        assert!(text.contains("petition p1: proposed"), "{text}");
        assert!(text.contains("sponsors:    1 of 3 required"), "{text}");
        assert!(
            text.contains("response at 5 signatures, referendum at 8 signatures"),
            "{text}"
        );
        assert!(text.contains("30 days once published"), "{text}");
        assert!(text.contains("2025-12-31 23:00:00 UTC"), "{text}");
        assert!(text.contains("under 2 signers"), "{text}");

        let mut open = raw.clone();
        open["stage"] = "open".into();
        open["count"] = 6.into();
        open["closes_at"] = (now + 2 * clock::DAY_MS).into();
        open["thresholds_reached"] = serde_json::json!(["sponsor", "response"]);
        open["region_counts"] = serde_json::json!([["north", 4]]);
        let d: PetitionDetail = serde_json::from_value(open.clone()).unwrap();
        let text = format_petition(&d, &open, now);
        assert!(text.contains("signatures:  6"), "{text}");
        assert!(
            text.contains("closes:      Sat 2026-01-03 00:00:00 UTC (in 2 days)"),
            "{text}"
        );
        assert!(text.contains("reached:     sponsor, response"), "{text}");
        assert!(text.contains("north"), "{text}");
    }
}
