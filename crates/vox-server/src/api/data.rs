//! Open data: the results, petition counts and lists a journalist opens in a spreadsheet,
//! as CSV (RFC 4180, the `csv` crate) and JSON, derived from the board state
//! (protocol-spec/api.md §"Open data"). Everything here is also in the record; these
//! are conveniences, not evidence: the record and `vox-verify` are the evidence.
//!
//! Regional results of a referendum are not published: ballots carry no region and the
//! tally is one sum (05 §5.1), so a per-region split would need a tally per region, which
//! the manifest does not define. Petition counts per region are published with the
//! petition's minimum group size applied (07 §7.1).

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use vox_protocol::api::{CountsData, DayCount, RegionCount, ResultData, ResultRow};
use vox_protocol::time::utc_date;

use crate::app::AppState;
use crate::error::AppError;
use crate::extract::{ApiResult, JsonResponse};
use crate::state::{Derived, ReferendumInfo};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes, each registered with its OpenAPI operation (`#[utoipa::path]`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(referendums_csv))
        .routes(routes!(result_csv))
        .routes(routes!(result_json))
        .routes(routes!(counts_csv))
        .routes(routes!(counts_json))
}

/// A CSV body with its content type and a file name for the download.
fn csv_response(rows: Vec<Vec<String>>, filename: &str) -> Result<Response, AppError> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for row in rows {
        w.write_record(row).map_err(AppError::internal)?;
    }
    let out = w.into_inner().map_err(|e| AppError::internal(e.error()))?;
    let mut res = (StatusCode::OK, out).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let disposition = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"",
        download_name(filename)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    res.headers_mut()
        .insert(header::CONTENT_DISPOSITION, disposition);
    Ok(res)
}

/// Ids may hold any text: a download's file name keeps letters, digits, `.`, `-` and `_`
/// and replaces the rest, so it is always a safe quoted header parameter.
fn download_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn text<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// Members of a referendum's electorate (its frozen or registered credential list).
fn electorate_size(st: &Derived, r: &ReferendumInfo) -> Option<u64> {
    st.electorates
        .get(&r.manifest.electorate_hash)
        .map(|e| e.electorate.entries.len() as u64)
}

/// Counted ballots as a share of the electorate, 4 decimals (`0.7500`), if known.
fn turnout(counted: u64, electorate: Option<u64>) -> Option<String> {
    match electorate {
        Some(n) if n > 0 => Some(format!("{:.4}", counted as f64 / n as f64)),
        _ => None,
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/referendums.csv",
    tag = "open data",
    summary = "Open data: every referendum with its state, counted ballots and turnout, as CSV",
    responses(
        (status = 200, description = "CSV with a header row", body = String, content_type = "text/csv"),
    )
)]
async fn referendums_csv(State(s): State<AppState>) -> Result<Response, AppError> {
    s.board.catch_up().await?;
    let st = s.board.read();
    let mut rows = vec![[
        "id",
        "title",
        "state",
        "opens_at",
        "closes_at",
        "ballots_cast",
        "counted_ballots",
        "electorate_size",
        "turnout",
        "source_petition",
    ]
    .map(String::from)
    .to_vec()];
    for r in st
        .referendum_order
        .iter()
        .filter_map(|id| st.referendums.get(id))
    {
        let counted = r.result.as_ref().map(|res| res.counted_ballots);
        let size = electorate_size(&st, r);
        rows.push(vec![
            r.manifest.referendum_id.clone(),
            r.manifest.title.clone(),
            text(&r.state),
            r.manifest.opens_at.to_string(),
            r.manifest.closes_at.to_string(),
            r.ballots_cast.to_string(),
            opt(counted),
            opt(size),
            opt(counted.and_then(|c| turnout(c, size))),
            r.manifest.source_petition.clone().unwrap_or_default(),
        ]);
    }
    drop(st);
    csv_response(rows, "referendums.csv")
}

fn result_data(st: &Derived, id: &str) -> Result<ResultData, AppError> {
    let r = st
        .referendums
        .get(id)
        .ok_or_else(|| AppError::not_found("referendum", id))?;
    let res = r
        .result
        .as_ref()
        .ok_or_else(|| AppError::not_found("result of referendum", id))?;
    let mut rows = Vec::new();
    for (q, counts) in r.manifest.questions.iter().zip(&res.counts) {
        let kind = serde_json::to_value(&q.kind)
            .ok()
            .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
            .unwrap_or_default();
        for (i, (label, count)) in q.options.iter().zip(counts).enumerate() {
            rows.push(ResultRow {
                question_id: q.id.clone(),
                question: q.text.clone(),
                kind: kind.clone(),
                option_index: u64::try_from(i).unwrap_or(u64::MAX),
                option: label.clone(),
                count: *count,
            });
        }
    }
    let size = electorate_size(st, r);
    Ok(ResultData {
        referendum_id: id.to_owned(),
        title: r.manifest.title.clone(),
        counted_ballots: res.counted_ballots,
        ballots_cast: r.ballots_cast,
        electorate_size: size,
        turnout: turnout(res.counted_ballots, size),
        trustees: res.trustees.clone(),
        rows,
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/referendums/{id}/result.json",
    tag = "open data",
    summary = "Open data: the result per question and option, with turnout",
    params(
        ("id" = String, Path, description = "The referendum id"),
    ),
    responses(
        (status = 200, description = "the result", body = vox_protocol::api::ResultData),
    )
)]
async fn result_json(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    s.board.catch_up().await?;
    let data = result_data(&s.board.read(), &id)?;
    JsonResponse::ok(&data)
}

#[utoipa::path(
    get,
    path = "/api/v1/referendums/{id}/result.csv",
    tag = "open data",
    summary = "Open data: the result per question and option, with turnout, as CSV",
    params(
        ("id" = String, Path, description = "The referendum id"),
    ),
    responses(
        (status = 200, description = "CSV with a header row", body = String, content_type = "text/csv"),
    )
)]
async fn result_csv(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    s.board.catch_up().await?;
    let d = result_data(&s.board.read(), &id)?;
    let mut rows = vec![[
        "referendum_id",
        "question_id",
        "question",
        "kind",
        "option_index",
        "option",
        "count",
        "counted_ballots",
        "electorate_size",
        "turnout",
    ]
    .map(String::from)
    .to_vec()];
    for r in &d.rows {
        rows.push(vec![
            d.referendum_id.clone(),
            r.question_id.clone(),
            r.question.clone(),
            r.kind.clone(),
            r.option_index.to_string(),
            r.option.clone(),
            r.count.to_string(),
            d.counted_ballots.to_string(),
            opt(d.electorate_size),
            d.turnout.clone().unwrap_or_default(),
        ]);
    }
    csv_response(rows, &format!("{}-result.csv", d.referendum_id))
}

fn counts_data(st: &Derived, id: &str) -> Result<CountsData, AppError> {
    let p = st
        .petitions
        .get(id)
        .ok_or_else(|| AppError::not_found("petition", id))?;
    Ok(CountsData {
        petition_id: id.to_owned(),
        count: p.tracker.count(),
        region_min_group: p.tracker.petition.region_min_group,
        regions: p
            .tracker
            .region_counts()
            .into_iter()
            .map(|(region, count)| RegionCount { region, count })
            .collect(),
        daily: p
            .daily_counts
            .iter()
            .map(|(day, count)| DayCount {
                date: utc_date(*day),
                count: *count,
            })
            .collect(),
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/petitions/{id}/counts.json",
    tag = "open data",
    summary = "Open data: a petition's count in total, per region (small groups withheld) and per day",
    params(
        ("id" = String, Path, description = "The petition id"),
    ),
    responses(
        (status = 200, description = "the counts", body = vox_protocol::api::CountsData),
    )
)]
async fn counts_json(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    s.board.catch_up().await?;
    let data = counts_data(&s.board.read(), &id)?;
    JsonResponse::ok(&data)
}

#[utoipa::path(
    get,
    path = "/api/v1/petitions/{id}/counts.csv",
    tag = "open data",
    summary = "Open data: a petition's count in total, per region (small groups withheld) and per day, as CSV",
    params(
        ("id" = String, Path, description = "The petition id"),
    ),
    responses(
        (status = 200, description = "CSV with a header row", body = String, content_type = "text/csv"),
    )
)]
async fn counts_csv(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    s.board.catch_up().await?;
    let d = counts_data(&s.board.read(), &id)?;
    // One table, filtered by `scope`: `total` (key empty), `region` (key = region),
    // `day` (key = YYYY-MM-DD, the count at the end of that day).
    let mut rows = vec![["petition_id", "scope", "key", "count"]
        .map(String::from)
        .to_vec()];
    let row = |scope: &str, key: &str, count: u64| {
        vec![
            d.petition_id.clone(),
            scope.to_owned(),
            key.to_owned(),
            count.to_string(),
        ]
    };
    rows.push(row("total", "", d.count));
    for r in &d.regions {
        rows.push(row("region", &r.region, r.count));
    }
    for day in &d.daily {
        rows.push(row("day", &day.date, day.count));
    }
    csv_response(rows, &format!("{}-counts.csv", d.petition_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_are_safe_header_parameters() {
        assert_eq!(
            download_name("town-2026-result.csv"),
            "town-2026-result.csv"
        );
        assert_eq!(
            download_name("a\"b;c\r\nd é-counts.csv"),
            "a_b_c__d__-counts.csv"
        );
        assert_eq!(turnout(3, Some(4)).as_deref(), Some("0.7500"));
        assert_eq!(turnout(3, Some(0)), None);
        assert_eq!(turnout(3, None), None);
    }
}
