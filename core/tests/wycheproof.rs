//! Project Wycheproof's JWS cases (shared/external/wycheproof, Apache-2.0). Their labels
//! are not all right (see that folder's README), so each disagreement between our verdict
//! and the label is listed below with the reason our verdict follows the RFCs.

use authgate_core::jwt::{Key, KeySet, KeyStatus};
use serde_json::Value;

fn load() -> Option<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/external/wycheproof/json_web_signature_test.json"
    );
    std::fs::read_to_string(path)
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap())
}

/// (tcId, why our verdict differs from the label).
const DISAGREEMENTS: &[(u64, &str)] = &[
    (346, "RFC 7520 fig. 20 is PS384, but this JWK declares alg PS256: a key is bound to its alg (RFC 7517 §4.4, RFC 8725 §3.1)"),
    (350, "same as 346, with key_ops"),
    (347, "ES512 (P-521) is not supported: refused, never guessed"),
    (351, "same as 347, with key_ops"),
    (367, "byte-identical to tc 357, which is labelled valid: the label is wrong"),
    (370, "byte-identical to tc 357, which is labelled valid: the label is wrong"),
    (372, "`?` is not base64url (RFC 7515 §2) and the MAC does not cover this literal input: the label is wrong"),
    (373, "`?` is not base64url (RFC 7515 §2) and the MAC does not cover this literal input: the label is wrong"),
];

#[test]
fn wycheproof_jws_verdicts() {
    let Some(doc) = load() else {
        eprintln!("shared/external/wycheproof not present; skipping");
        return;
    };
    let mut unexpected = Vec::new();
    let (mut agreed, mut total) = (0, 0);
    for group in doc["testGroups"].as_array().unwrap() {
        let jwk = group.get("public").or(group.get("private")).unwrap();
        let key = Key::from_jwk(jwk.as_object().unwrap(), None);
        for case in group["tests"].as_array().unwrap() {
            total += 1;
            let id = case["tcId"].as_u64().unwrap();
            let accepted = match (&key, case["jws"].as_str()) {
                (Ok(_), Some(token)) => {
                    let set = KeySet::new();
                    set.add(
                        Key::from_jwk(jwk.as_object().unwrap(), None).unwrap(),
                        KeyStatus::VerifyOnly,
                    )
                    .unwrap();
                    set.verify_jws(token, &[]).is_ok()
                }
                // JSON serialization, or a key we refuse to import: rejected.
                _ => false,
            };
            let labelled_valid = case["result"] == "valid";
            if accepted == labelled_valid {
                agreed += 1;
            } else if !DISAGREEMENTS.iter().any(|(d, _)| *d == id) {
                unexpected.push(format!(
                    "tc {id} ({}, {}): label {}, ours {} [key: {:?}]",
                    group["comment"],
                    case["comment"],
                    case["result"],
                    accepted,
                    key.as_ref().err().map(|e| e.code())
                ));
            }
        }
    }
    println!("wycheproof: {agreed}/{total} verdicts agree with the labels");
    assert!(
        unexpected.is_empty(),
        "unexplained disagreements:\n{}",
        unexpected.join("\n")
    );
}
