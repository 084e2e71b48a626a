//! The contract's wire: frames carry their version, typed fields keep docs/cli.md's JSON, and
//! nothing a peer sends decodes into the wrong thing.

use fengxin_api::*;
use fengxin_types::{IdType, ListId, MemberName};

fn member(n: &str) -> MemberName {
    MemberName::parse(n).expect("member name")
}

#[test]
fn a_request_round_trips_through_its_frame() {
    let request = ApiRequest::Screen {
        id_type: IdType::Phone,
        identifier: "+8613800000000".into(),
        list: Some(ListId::parse("fraud_txn").expect("list")),
        members: Some(vec![member("bank-b")]),
        case_reference: None,
    };
    let line = encode_request(&request).expect("encode");
    assert!(line.ends_with('\n'));
    let json: serde_json::Value = serde_json::from_str(&line).expect("json");
    assert_eq!(json["v"], WIRE_VERSION);
    assert_eq!(json["request"]["op"], "screen");
    assert_eq!(json["request"]["id_type"], "phone");
    assert_eq!(decode_request(&line).expect("decode"), request);
}

#[test]
fn another_wire_version_is_refused_for_its_version() {
    let line = r#"{"v": 2, "request": {"op": "status", "something_new": 1}}"#;
    let err = decode_request(line).expect_err("version 2");
    assert_eq!(err.kind, ErrorKind::UnsupportedVersion);
    let reply = r#"{"v": 7, "response": "shutting_down"}"#;
    assert_eq!(
        decode_response(reply).expect_err("version 7").kind,
        ErrorKind::UnsupportedVersion
    );
}

#[test]
fn malformed_requests_are_bad_requests_never_panics() {
    for line in [
        "",
        "not json",
        "{}",
        r#"{"v": 1}"#,
        r#"{"v": 1, "request": {"op": "no_such_op"}}"#,
        r#"{"v": 1, "request": {"op": "screen", "id_type": "passport", "identifier": "x"}}"#,
        r#"{"v": 1, "request": {"op": "vote", "motion": "abcd", "approve": true}}"#,
        r#"{"v": 1, "request": {"op": "feedback", "receipt": "00", "verdict": "maybe"}}"#,
        r#"{"v": "1", "request": {"op": "status"}}"#,
    ] {
        let err = decode_request(line).expect_err(line);
        assert_eq!(err.kind, ErrorKind::BadRequest, "{line}: {err}");
    }
}

#[test]
fn screening_output_keeps_the_documented_shape() {
    let report = ScreenReport {
        identifier_type: IdType::CnId,
        results: vec![
            ScreenResult {
                member: member("bank-b"),
                list: Some(ListId::parse("fraud_txn").expect("list")),
                result: Some(Verdict::Hit),
                verified: true,
                mode: Some(ScreenMode::Snapshot),
                label: Some(HitLabel {
                    reason: "mule".into(),
                    added_on: Some("2026-11-30".into()),
                }),
                root_status: Some(RootStatus::Attested),
                error: None,
                latency_ms: 12.5,
            },
            ScreenResult {
                member: member("bank-c"),
                list: None,
                result: None,
                verified: false,
                mode: None,
                label: None,
                root_status: None,
                error: Some(ScreenError {
                    kind: ScreenErrorKind::PeerUnreachable,
                    reason: Some("timeout".into()),
                    message: "timed out".into(),
                }),
                latency_ms: 5000.0,
            },
        ],
        development: false,
    };
    let json = serde_json::to_value(&report).expect("encode");
    assert_eq!(
        json,
        serde_json::json!({
            "identifier_type": "cn_id",
            "results": [
                {"member": "bank-b", "list": "fraud_txn", "result": "hit", "verified": true,
                 "mode": "snapshot", "label": {"reason": "mule", "added_on": "2026-11-30"},
                 "root_status": "attested", "latency_ms": 12.5},
                {"member": "bank-c", "list": null, "result": null, "verified": false,
                 "error": {"kind": "peer_unreachable", "reason": "timeout", "message": "timed out"},
                 "latency_ms": 5000.0}
            ]
        })
    );
    let back: ScreenReport = serde_json::from_value(json).expect("decode");
    assert_eq!(back, report);
    // A development consortium's answers say so.
    let dev = ScreenReport {
        development: true,
        ..report
    };
    let json = serde_json::to_value(&dev).expect("encode");
    assert_eq!(json["development"], true);
}

#[test]
fn a_development_node_marks_every_reply() {
    let line = fengxin_api::encode_reply(ApiResponse::ShuttingDown, true);
    let frame: serde_json::Value = serde_json::from_str(&line).expect("json");
    assert_eq!(frame["development"], true);
    let reply = fengxin_api::decode_reply(&line).expect("decode");
    assert!(reply.development);
    assert_eq!(reply.response, ApiResponse::ShuttingDown);
    // A production node's frame has no mark at all, and decodes as not development.
    let line = fengxin_api::encode_reply(ApiResponse::ShuttingDown, false);
    assert!(!line.contains("development"), "{line}");
    assert!(
        !fengxin_api::decode_reply(&line)
            .expect("decode")
            .development
    );
}

#[test]
fn digests_travel_as_hex_and_refuse_the_wrong_length() {
    let id = RecordId([0xab; 32]);
    let json = serde_json::to_string(&id).expect("encode");
    assert_eq!(json, format!("\"{}\"", "ab".repeat(32)));
    assert_eq!(serde_json::from_str::<RecordId>(&json).expect("decode"), id);
    for bad in [
        "\"ab\"",
        "\"zz\"",
        &format!("\"{}\"", "ab".repeat(33)),
        "[1,2,3]",
    ] {
        assert!(serde_json::from_str::<RecordId>(bad).is_err(), "{bad}");
    }
    let change = CreditChange::from(&fengxin_ledger::CreditEntry {
        height: 3,
        record: Some([7; 32]),
        delta: -2,
        balance: 98,
        reason: "screened".into(),
    });
    let json = serde_json::to_value(&change).expect("encode");
    assert_eq!(json["record"], "07".repeat(32));
}

#[test]
fn errors_print_as_the_cli_promises() {
    let response = ApiResponse::error(ErrorKind::OverAllowance, "3 left");
    let line = encode_response(response.clone());
    let json: serde_json::Value = serde_json::from_str(&line).expect("json");
    assert_eq!(
        json,
        serde_json::json!({"v": WIRE_VERSION, "response": {"error": {"kind": "over_allowance", "message": "3 left"}}})
    );
    assert_eq!(decode_response(&line).expect("decode"), response);
}

#[test]
fn audit_results_read_like_screening() {
    let details = AuditDetails {
        tags: vec![],
        results: vec![Verdict::Hit, Verdict::Miss],
        nonce: Nonce([1; 16]),
        request_digest: Digest([2; 32]),
        answer_digest: Digest([3; 32]),
        case_reference: None,
        hits: None,
    };
    let json = serde_json::to_value(&details).expect("encode");
    assert_eq!(json["results"], serde_json::json!(["hit", "miss"]));
    assert!(json.get("hits").is_none());
}

#[test]
fn no_node_listening_is_node_unreachable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = call(dir.path(), &ApiRequest::Status).expect_err("no socket");
    assert_eq!(err.kind, ErrorKind::NodeUnreachable);
}
