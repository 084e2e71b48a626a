//! Real QUIC over loopback: two in-process endpoints.

use fengxin_crypto::IdentityKey;
use fengxin_net::{
    AcceptError, AdmissionError, Blame, ConnectError, Endpoint, ExchangeError, Limits,
    PeerConnection, StaticRegistry, StreamRejection, FRAME_VERSION,
};
use fengxin_types::MemberName;
use rand_chacha::rand_core::SeedableRng;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Ping {
    n: u64,
    note: String,
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Pong {
    n: u64,
    from: String,
}

/// What a test server observed.
#[derive(Debug)]
enum Seen {
    Admitted(MemberName),
    AcceptFailed(AcceptError),
    BadRequest(ExchangeError),
}

fn name(s: &str) -> MemberName {
    MemberName::parse(s).expect("valid test member name")
}

fn key(seed: u64) -> IdentityKey {
    IdentityKey::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(seed))
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn quick_limits() -> Limits {
    let mut l = Limits::default();
    l.exchange_timeout = Duration::from_secs(5);
    l.connect_timeout = Duration::from_secs(5);
    l.idle_timeout = Duration::from_secs(10);
    l.keep_alive = Duration::from_secs(2);
    l
}

fn bind(id: &IdentityKey, registry: &StaticRegistry, limits: Limits) -> Endpoint {
    Endpoint::bind(loopback(), id, Arc::new(registry.clone()), limits).expect("bind loopback")
}

fn addr(ep: &Endpoint) -> SocketAddr {
    ep.local_addr().expect("bound socket has an address")
}

/// Serves `Ping -> Pong` on every admitted connection and reports what it saw.
fn serve(ep: Endpoint, me: &str) -> mpsc::UnboundedReceiver<Seen> {
    let (tx, rx) = mpsc::unbounded_channel();
    let me = me.to_string();
    tokio::spawn(async move {
        while let Some(incoming) = ep.accept().await {
            let tx = tx.clone();
            let me = me.clone();
            tokio::spawn(async move {
                let conn = match incoming.establish().await {
                    Ok(conn) => conn,
                    Err(e) => {
                        let _ = tx.send(Seen::AcceptFailed(e));
                        return;
                    }
                };
                let _ = tx.send(Seen::Admitted(conn.member().clone()));
                serve_connection(conn, &me, &tx).await;
            });
        }
    });
    rx
}

async fn serve_connection(conn: PeerConnection, me: &str, tx: &mpsc::UnboundedSender<Seen>) {
    while let Ok(request) = conn.accept_request().await {
        match request.read::<Ping>().await {
            Ok((ping, responder)) => {
                let pong = Pong {
                    n: ping.n + 1,
                    from: me.to_string(),
                };
                let _ = responder.respond(&pong).await;
            }
            Err(e) => {
                let _ = tx.send(Seen::BadRequest(e));
            }
        }
    }
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("server reports within 5 s")
        .expect("server task alive")
}

struct Pair {
    a: Endpoint,
    b: Endpoint,
    a_seen: mpsc::UnboundedReceiver<Seen>,
    b_seen: mpsc::UnboundedReceiver<Seen>,
}

fn pair(limits_a: Limits, limits_b: Limits) -> Pair {
    let (ka, kb) = (key(1), key(2));
    let registry: StaticRegistry = [(ka.public(), name("bank-a")), (kb.public(), name("bank-b"))]
        .into_iter()
        .collect();
    let a = bind(&ka, &registry, limits_a);
    let b = bind(&kb, &registry, limits_b);
    let a_seen = serve(a.clone(), "bank-a");
    let b_seen = serve(b.clone(), "bank-b");
    Pair {
        a,
        b,
        a_seen,
        b_seen,
    }
}

fn ping(n: u64) -> Ping {
    Ping {
        n,
        note: "hello".into(),
    }
}

#[tokio::test]
async fn two_members_exchange_both_ways() {
    let mut p = pair(quick_limits(), quick_limits());

    let to_b =
        p.a.connect(addr(&p.b), &name("bank-b"))
            .await
            .expect("a dials b");
    assert_eq!(to_b.member(), &name("bank-b"));
    assert_eq!(to_b.public_key(), p.b.public_key());
    let pong: Pong = to_b.request(&ping(41)).await.expect("exchange a->b");
    assert_eq!(
        pong,
        Pong {
            n: 42,
            from: "bank-b".into()
        }
    );
    assert!(matches!(next(&mut p.b_seen).await, Seen::Admitted(m) if m == name("bank-a")));

    let to_a =
        p.b.connect(addr(&p.a), &name("bank-a"))
            .await
            .expect("b dials a");
    let pong: Pong = to_a.request(&ping(1)).await.expect("exchange b->a");
    assert_eq!(
        pong,
        Pong {
            n: 2,
            from: "bank-a".into()
        }
    );
    assert!(matches!(next(&mut p.a_seen).await, Seen::Admitted(m) if m == name("bank-b")));

    // Several exchanges on one connection, concurrently.
    let (p10, p20) = (ping(10), ping(20));
    let (x, y) = tokio::join!(to_b.request::<_, Pong>(&p10), to_b.request::<_, Pong>(&p20));
    assert_eq!(x.expect("concurrent 1").n, 11);
    assert_eq!(y.expect("concurrent 2").n, 21);

    // A frame far larger than one QUIC packet or chunk.
    let big = Ping {
        n: 5,
        note: "x".repeat(2 * 1024 * 1024),
    };
    let pong: Pong = to_b.request(&big).await.expect("2 MiB request");
    assert_eq!(pong.n, 6);

    // Graceful shutdown: the peer's pending accept ends, both endpoints go idle.
    to_b.close();
    p.a.close();
    p.b.close();
    tokio::time::timeout(Duration::from_secs(5), async {
        p.a.wait_idle().await;
        p.b.wait_idle().await;
    })
    .await
    .expect("endpoints idle after close");
    assert!(matches!(
        to_a.request::<_, Pong>(&ping(0)).await,
        Err(ExchangeError::Closed)
    ));
}

#[tokio::test]
async fn unregistered_client_is_refused_by_server() {
    let (ks, kc) = (key(3), key(4));
    // The server knows only itself; the client knows the server.
    let server_reg: StaticRegistry = [(ks.public(), name("bank-s"))].into_iter().collect();
    let client_reg: StaticRegistry = [(ks.public(), name("bank-s")), (kc.public(), name("bank-c"))]
        .into_iter()
        .collect();
    let server = bind(&ks, &server_reg, quick_limits());
    let mut seen = serve(server.clone(), "bank-s");
    let client = bind(&kc, &client_reg, quick_limits());

    // TLS 1.3: the client may finish its handshake before the server refuses its
    // certificate, so the refusal shows either at connect or at the first exchange.
    match client.connect(addr(&server), &name("bank-s")).await {
        Ok(conn) => {
            let err = conn
                .request::<_, Pong>(&ping(1))
                .await
                .expect_err("refused client cannot exchange");
            assert_eq!(err.blame(), Blame::Network, "{err}");
        }
        Err(ConnectError::Handshake(_)) => {}
        Err(other) => panic!("unexpected connect error {other}"),
    }
    match next(&mut seen).await {
        Seen::AcceptFailed(e) => {
            assert_eq!(e.blame(), Blame::Peer);
            assert!(
                matches!(e, AcceptError::Admission(AdmissionError::UnknownKey(k)) if k == kc.public()),
                "{e:?}"
            );
        }
        other => panic!("server admitted an unknown client: {other:?}"),
    }
}

#[tokio::test]
async fn client_refuses_server_that_is_not_the_expected_member() {
    let (ka, kb, kc) = (key(5), key(6), key(7));
    let registry: StaticRegistry = [(ka.public(), name("bank-a")), (kb.public(), name("bank-b"))]
        .into_iter()
        .collect();
    let a = bind(&ka, &registry, quick_limits());
    let b = bind(&kb, &registry, quick_limits());
    let _b_seen = serve(b.clone(), "bank-b");

    // b is a member, but not the one a dialled.
    match a.connect(addr(&b), &name("bank-z")).await {
        Err(ConnectError::Admission(AdmissionError::WrongMember {
            expected,
            actual,
            key,
        })) => {
            assert_eq!(expected, name("bank-z"));
            assert_eq!(actual, name("bank-b"));
            assert_eq!(key, kb.public());
        }
        other => panic!("expected WrongMember, got {other:?}"),
    }

    // c is no member at all (it admits a so the handshake reaches our verifier).
    let c_reg: StaticRegistry = [(ka.public(), name("bank-a"))].into_iter().collect();
    let c = bind(&kc, &c_reg, quick_limits());
    let _c_seen = serve(c.clone(), "bank-c");
    match a.connect(addr(&c), &name("bank-b")).await {
        Err(e @ ConnectError::Admission(AdmissionError::UnknownKey(k))) => {
            assert_eq!(k, kc.public());
            assert_eq!(e.blame(), Blame::Peer);
        }
        other => panic!("expected UnknownKey, got {other:?}"),
    }

    // The right name still works.
    let conn = a
        .connect(addr(&b), &name("bank-b"))
        .await
        .expect("correct member");
    let pong: Pong = conn.request(&ping(0)).await.expect("exchange");
    assert_eq!(pong.from, "bank-b");
}

#[tokio::test]
async fn oversized_frame_is_refused_and_server_keeps_serving() {
    let mut small = quick_limits();
    small.max_frame_len = 1024;
    let mut big = quick_limits();
    big.max_frame_len = 1024 * 1024;
    let mut p = pair(big, small);
    let conn =
        p.a.connect(addr(&p.b), &name("bank-b"))
            .await
            .expect("dial");
    assert!(matches!(next(&mut p.b_seen).await, Seen::Admitted(_)));

    let huge = vec![0u8; 64 * 1024];
    let err = conn
        .request_raw(FRAME_VERSION, &huge)
        .await
        .expect_err("server refuses oversized frame");
    assert!(
        matches!(err, ExchangeError::Rejected(StreamRejection::FrameTooLarge)),
        "{err:?}"
    );
    match next(&mut p.b_seen).await {
        Seen::BadRequest(ExchangeError::FrameTooLarge { len, max }) => {
            assert_eq!(len, 64 * 1024 + 1);
            assert_eq!(max, 1024);
        }
        other => panic!("expected FrameTooLarge, got {other:?}"),
    }

    // Same connection, well-formed request: still served.
    let pong: Pong = conn.request(&ping(7)).await.expect("served after refusal");
    assert_eq!(pong.n, 8);

    // The receiving side (a, max 1 MiB) refuses responses above its own limit, and a
    // sender refuses to send above its own limit without touching the network.
    let to_a =
        p.b.connect(addr(&p.a), &name("bank-a"))
            .await
            .expect("dial back");
    let err = to_a
        .request_raw(FRAME_VERSION, &vec![0u8; 2048])
        .await
        .expect_err("too large to send");
    assert!(
        matches!(
            err,
            ExchangeError::OutgoingTooLarge {
                len: 2049,
                max: 1024
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.blame(), Blame::Local);
}

#[tokio::test]
async fn unknown_version_and_garbage_get_typed_errors() {
    let mut p = pair(quick_limits(), quick_limits());
    let conn =
        p.a.connect(addr(&p.b), &name("bank-b"))
            .await
            .expect("dial");
    assert!(matches!(next(&mut p.b_seen).await, Seen::Admitted(_)));

    let err = conn
        .request_raw(9, b"from the future")
        .await
        .expect_err("v9");
    assert!(
        matches!(
            err,
            ExchangeError::Rejected(StreamRejection::UnsupportedVersion)
        ),
        "{err:?}"
    );
    assert!(matches!(
        next(&mut p.b_seen).await,
        Seen::BadRequest(ExchangeError::UnsupportedVersion(9))
    ));

    // Version 1 but the body is not a postcard `Ping`.
    let err = conn
        .request_raw(FRAME_VERSION, &[0xff; 11])
        .await
        .expect_err("garbage body");
    assert!(
        matches!(err, ExchangeError::Rejected(StreamRejection::Malformed)),
        "{err:?}"
    );
    match next(&mut p.b_seen).await {
        Seen::BadRequest(e @ ExchangeError::Malformed(_)) => assert_eq!(e.blame(), Blame::Peer),
        other => panic!("expected Malformed, got {other:?}"),
    }

    // Still serving.
    let pong: Pong = conn.request(&ping(99)).await.expect("served after garbage");
    assert_eq!(pong.n, 100);
}

#[tokio::test]
async fn unanswered_exchange_times_out() {
    let (ka, kb) = (key(8), key(9));
    let registry: StaticRegistry = [(ka.public(), name("bank-a")), (kb.public(), name("bank-b"))]
        .into_iter()
        .collect();
    let mut limits = quick_limits();
    limits.exchange_timeout = Duration::from_millis(300);
    let a = bind(&ka, &registry, limits);
    let b = bind(&kb, &registry, limits);
    // b reads requests but never answers.
    let server = b.clone();
    tokio::spawn(async move {
        if let Some(incoming) = server.accept().await {
            if let Ok(conn) = incoming.establish().await {
                let mut held = Vec::new();
                while let Ok(req) = conn.accept_request().await {
                    if let Ok((_, responder)) = req.read::<Ping>().await {
                        held.push(responder);
                    }
                }
            }
        }
    });
    let conn = a.connect(addr(&b), &name("bank-b")).await.expect("dial");
    let err = conn
        .request::<_, Pong>(&ping(1))
        .await
        .expect_err("no answer");
    assert!(matches!(err, ExchangeError::Timeout), "{err:?}");
    assert_eq!(err.blame(), Blame::Network);
}

#[tokio::test]
async fn dropped_responder_is_reported_promptly() {
    let (ka, kb) = (key(12), key(13));
    let registry: StaticRegistry = [(ka.public(), name("bank-a")), (kb.public(), name("bank-b"))]
        .into_iter()
        .collect();
    let a = bind(&ka, &registry, quick_limits());
    let b = bind(&kb, &registry, quick_limits());
    // b reads each request and drops the responder, as a failing handler would.
    let server = b.clone();
    tokio::spawn(async move {
        if let Some(incoming) = server.accept().await {
            if let Ok(conn) = incoming.establish().await {
                while let Ok(req) = conn.accept_request().await {
                    let _ = req.read::<Ping>().await;
                }
            }
        }
    });
    let conn = a.connect(addr(&b), &name("bank-b")).await.expect("dial");
    let started = std::time::Instant::now();
    let err = conn
        .request::<_, Pong>(&ping(1))
        .await
        .expect_err("declined");
    assert!(
        matches!(err, ExchangeError::Rejected(StreamRejection::Unanswered)),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2), "not a timeout");
}

#[tokio::test]
async fn unreachable_peer_times_out() {
    let ka = key(10);
    let registry: StaticRegistry = [(ka.public(), name("bank-a"))].into_iter().collect();
    let mut limits = quick_limits();
    limits.connect_timeout = Duration::from_millis(300);
    let a = bind(&ka, &registry, limits);
    // A bound UDP socket that never answers.
    let silent = std::net::UdpSocket::bind(loopback()).expect("udp");
    let err = a
        .connect(silent.local_addr().expect("addr"), &name("bank-a"))
        .await
        .expect_err("nobody answers");
    assert!(matches!(err, ConnectError::Timeout), "{err:?}");
    assert_eq!(err.blame(), Blame::Network);
}

#[tokio::test]
async fn bind_rejects_inconsistent_limits() {
    let ka = key(11);
    let registry = StaticRegistry::default();
    let mut bad = Limits::default();
    bad.keep_alive = bad.idle_timeout;
    assert!(Endpoint::bind(loopback(), &ka, Arc::new(registry.clone()), bad).is_err());
    let mut bad = Limits::default();
    bad.max_frame_len = 0;
    assert!(Endpoint::bind(loopback(), &ka, Arc::new(registry), bad).is_err());
}

#[test]
fn bind_outside_a_runtime_is_an_error_not_a_panic() {
    let ka = key(14);
    let err = Endpoint::bind(
        loopback(),
        &ka,
        Arc::new(StaticRegistry::default()),
        Limits::default(),
    )
    .expect_err("no Tokio runtime");
    assert_eq!(err.blame(), Blame::Local);
}

#[tokio::test]
async fn the_responder_learns_that_the_requester_left() {
    let (ka, kb) = (key(14), key(15));
    let registry: StaticRegistry = [(ka.public(), name("bank-a")), (kb.public(), name("bank-b"))]
        .into_iter()
        .collect();
    // A long exchange timeout: only the requester leaving can end the wait early.
    let mut limits = quick_limits();
    limits.exchange_timeout = Duration::from_secs(30);
    let a = bind(&ka, &registry, limits);
    let b = bind(&kb, &registry, limits);
    let (left_tx, mut left_rx) = mpsc::unbounded_channel();
    let server = b.clone();
    tokio::spawn(async move {
        if let Some(incoming) = server.accept().await {
            if let Ok(conn) = incoming.establish().await {
                while let Ok(req) = conn.accept_request().await {
                    if let Ok((ping, responder)) = req.read::<Ping>().await {
                        let left = left_tx.clone();
                        tokio::spawn(async move {
                            responder.abandoned().await;
                            let _ = left.send(ping.n);
                            drop(responder);
                        });
                    }
                }
            }
        }
    });
    let conn = a.connect(addr(&b), &name("bank-b")).await.expect("dial");
    // The requester gives up on request 1 (its future is dropped) and stays connected.
    let gave_up = tokio::time::timeout(
        Duration::from_millis(300),
        conn.request::<_, Pong>(&ping(1)),
    )
    .await;
    assert!(gave_up.is_err(), "no answer was due");
    let seen = tokio::time::timeout(Duration::from_secs(5), left_rx.recv())
        .await
        .expect("the responder saw the stream stopped well before its 30 s deadline");
    assert_eq!(seen, Some(1));
    // Request 2 is abandoned by closing the whole connection.
    let pending = tokio::spawn({
        let conn = conn.clone();
        async move { conn.request::<_, Pong>(&ping(2)).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    conn.close();
    let seen = tokio::time::timeout(Duration::from_secs(5), left_rx.recv())
        .await
        .expect("the responder saw the connection close");
    assert_eq!(seen, Some(2));
    let _ = pending.await;
}
