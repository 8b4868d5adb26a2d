//! Slow clients cannot hold the server: a body that stops arriving is answered 408 and
//! its connection closed, headers that stop arriving close the connection, and other
//! clients are served meanwhile; connections beyond the limit wait for a free slot.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::*;

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    // Generous: a test machine may be slow; the server's own timeouts are 300 ms.
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// Everything the server sends until it closes the connection.
fn read_all(mut s: TcpStream) -> String {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn get_healthz(addr: SocketAddr) -> String {
    let mut s = connect(addr);
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    read_all(s)
}

fn start(max_http_connections: usize) -> (TestDb, Harness) {
    let db = sqlite_db();
    let mut cfg = config(&db.url);
    cfg.header_read_timeout_ms = 300;
    cfg.body_read_timeout_ms = 300;
    cfg.max_http_connections = max_http_connections;
    let h = Harness::start(cfg);
    (db, h)
}

#[test]
fn a_body_that_stops_arriving_is_408_and_others_are_served_meanwhile() {
    let (_db, h) = start(64);
    let addr = h.server().local_addr();
    let mut slow = connect(addr);
    slow.write_all(
        b"POST /api/v1/petitions HTTP/1.1\r\nHost: localhost\r\n\
          Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    )
    .unwrap();
    // While the slow body is pending, other clients are answered.
    for _ in 0..3 {
        let r = get_healthz(addr);
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    }
    // Then the slow request is answered 408 problem+json and its connection closed
    // (read_all returns: the server closed it).
    let r = read_all(slow);
    assert!(r.starts_with("HTTP/1.1 408"), "{r}");
    assert!(r.contains("application/problem+json"), "{r}");
    assert!(r.contains("request-timeout"), "{r}");
    // Nothing was appended: the board still holds only its genesis.
    assert_eq!(h.client.get("/api/v1/board").json()["tree_size"], 1);
}

#[test]
fn headers_that_stop_arriving_close_the_connection() {
    let (_db, h) = start(64);
    let addr = h.server().local_addr();
    let mut slow = connect(addr);
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHo").unwrap();
    let r = get_healthz(addr);
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    // The server closes the half-sent request (hyper may answer 408 first).
    let r = read_all(slow);
    assert!(r.is_empty() || r.starts_with("HTTP/1.1 408"), "{r}");
}

#[test]
fn connections_beyond_the_limit_wait_for_a_free_slot() {
    let (_db, h) = start(1);
    let addr = h.server().local_addr();
    // One idle connection takes the only slot until its header timeout closes it.
    let idle = connect(addr);
    std::thread::sleep(Duration::from_millis(50));
    let waiting = std::thread::spawn(move || get_healthz(addr));
    // The idle connection's header timer (300 ms from its accept) cannot have fired
    // yet, so the second client is still waiting for the slot.
    std::thread::sleep(Duration::from_millis(100));
    assert!(!waiting.is_finished(), "served beyond the connection limit");
    let _ = read_all(idle);
    let r = waiting.join().unwrap();
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
}

/// What hyper's HTTP/1.1 parser refuses before any vox code runs: it writes the status
/// line itself, with an empty body (no hook exists to give it a problem+json body), and
/// closes the connection; the server goes on serving others. Everything the parser
/// accepts reaches the router and gets problem+json (tested throughout the suite).
#[test]
fn requests_the_http_parser_refuses_get_a_bare_status_and_a_closed_connection() {
    let (_db, h) = start(64);
    let addr = h.server().local_addr();
    let bare = |raw: &[u8]| {
        let mut s = connect(addr);
        s.write_all(raw).unwrap();
        read_all(s)
    };
    let cases: [(&[u8], &str); 3] = [
        (
            b"POST /api/v1/petitions HTTP/1.1\r\nHost: localhost\r\nContent-Length: ten\r\n\r\n",
            "HTTP/1.1 400",
        ),
        (
            b"POST /api/v1/petitions HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "HTTP/1.1 400",
        ),
        (b"GET / HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n", "HTTP/1.1 400"),
    ];
    for (raw, status) in cases {
        let r = bare(raw);
        assert!(
            r.starts_with(status),
            "{:?} -> {r:?}",
            String::from_utf8_lossy(raw)
        );
        assert!(!r.contains("problem+json"), "{r}");
    }
    // (Headers beyond hyper's read buffer, about 400 KiB, are answered 431 the same
    // way; not asserted here: the server closes while the client is still sending, and
    // the kernel's reset may destroy the status line before the client reads it.)
    // The server is unharmed.
    assert!(get_healthz(addr).starts_with("HTTP/1.1 200"));
}
