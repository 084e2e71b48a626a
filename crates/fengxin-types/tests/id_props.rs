//! Property tests of the identifier parsers: canonical forms are fixed points, single-character
//! changes to checked identifiers are caught, messy-but-valid forms clean to the same canonical
//! form, and arbitrary input never panics.

use fengxin_types::id::{BankCard, CivilDate, CnId, Uscc};
use fengxin_types::{CanonicalId, IdError, IdType};
use proptest::prelude::*;

/// A fixed "today" for cn_id properties, so they do not depend on the clock.
fn today() -> CivilDate {
    CivilDate::new(2026, 11, 23).expect("a real date")
}

/// Parses, then checks that the canonical form parses to itself.
fn assert_fixed_point(t: IdType, raw: &str) -> Result<CanonicalId, TestCaseError> {
    match CanonicalId::parse(t, raw, fengxin_types::CivilDate::today_china()) {
        Ok(id) => {
            let again = CanonicalId::parse(t, id.as_str(), fengxin_types::CivilDate::today_china());
            prop_assert_eq!(again.as_ref(), Ok(&id), "{} {:?}", t, raw);
            Ok(id)
        }
        Err(e) => Err(TestCaseError::fail(format!("{t} {raw:?}: {e}"))),
    }
}

/// Full-width form of the ASCII characters of `s` (U+0021..U+007E → U+FF01..U+FF5E).
fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(u32::from(c) + 0xFEE0).unwrap_or(c),
            c => c,
        })
        .collect()
}

/// Surrounding whitespace drawn from ASCII and Unicode spaces.
fn padding() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![' ', '\t', '\u{3000}', '\u{a0}', '\n']),
        0..3,
    )
    .prop_map(|v| v.into_iter().collect())
}

// ----- cn_id -----

/// A valid 18-character resident ID: (canonical, birth year).
fn cn_id() -> impl Strategy<Value = (String, u16)> {
    let first = CivilDate::new(1900, 1, 1)
        .expect("a real date")
        .days_since_epoch();
    let last = today().days_since_epoch();
    (1u32..=9, 0u32..100_000, first..=last, 0u32..1000).prop_map(|(r0, r, days, seq)| {
        let birth = CivilDate::from_days_since_epoch(days);
        let first17 = format!("{r0}{r:05}{:08}{seq:03}", birth.yyyymmdd());
        let check = CnId::check_character(&first17).expect("17 digits");
        (format!("{first17}{check}"), birth.year())
    })
}

/// Characters a cn_id position may hold: digits, plus X in the last position.
fn cn_id_alternatives(position: usize) -> Vec<char> {
    let mut v: Vec<char> = ('0'..='9').collect();
    if position == 17 {
        v.push('X');
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn cn_id_canonical_is_fixed_point((id, _) in cn_id()) {
        let parsed = CnId::parse_as_of(&id, today()).map(CnId::into_string);
        prop_assert_eq!(parsed.as_deref(), Ok(id.as_str()));
        assert_fixed_point(IdType::CnId, &id)?;
    }

    #[test]
    fn cn_id_messy_forms_clean_to_canonical(
        (id, _) in cn_id(),
        pre in padding(),
        post in padding(),
        wide in any::<bool>(),
    ) {
        let mut messy = id.replace('X', "x");
        if wide {
            messy = full_width(&messy);
        }
        let messy = format!("{pre}{messy}{post}");
        let parsed = CnId::parse_as_of(&messy, today()).map(CnId::into_string);
        prop_assert_eq!(parsed.as_deref(), Ok(id.as_str()));
    }

    #[test]
    fn cn_id_legacy_upgrades((id, year) in cn_id()) {
        prop_assume!((1900..2000).contains(&year));
        let legacy = format!("{}{}", &id[..6], &id[8..17]);
        let parsed = CnId::parse_as_of(&legacy, today()).map(CnId::into_string);
        prop_assert_eq!(parsed.as_deref(), Ok(id.as_str()));
    }

    #[test]
    fn cn_id_single_change_is_caught(
        (id, _) in cn_id(),
        position in 0usize..18,
        pick in any::<prop::sample::Index>(),
    ) {
        let alternatives: Vec<char> = cn_id_alternatives(position)
            .into_iter()
            .filter(|&c| Some(c) != id.chars().nth(position))
            .collect();
        let replacement = *pick.get(&alternatives);
        let changed: String = id
            .chars()
            .enumerate()
            .map(|(i, c)| if i == position { replacement } else { c })
            .collect();
        prop_assert!(
            CnId::parse_as_of(&changed, today()).is_err(),
            "{} accepted after changing position {}", changed, position + 1
        );
    }
}

// ----- uscc -----

/// A valid unified social credit code.
fn uscc() -> impl Strategy<Value = String> {
    let alpha: Vec<char> = Uscc::ALPHABET.chars().collect();
    let code_char = prop::sample::select(alpha);
    (
        prop::collection::vec(code_char.clone(), 2),
        0u32..1_000_000,
        prop::collection::vec(code_char, 9),
    )
        .prop_map(|(head, region, tail)| {
            let head: String = head.into_iter().collect();
            let tail: String = tail.into_iter().collect();
            let first17 = format!("{head}{region:06}{tail}");
            let check = Uscc::check_character(&first17).expect("17 code characters");
            format!("{first17}{check}")
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn uscc_canonical_is_fixed_point(code in uscc()) {
        let id = assert_fixed_point(IdType::Uscc, &code)?;
        prop_assert_eq!(id.as_str(), code.as_str());
    }

    #[test]
    fn uscc_messy_forms_clean_to_canonical(
        code in uscc(),
        pre in padding(),
        post in padding(),
        wide in any::<bool>(),
    ) {
        let mut messy = code.to_ascii_lowercase();
        if wide {
            messy = full_width(&messy);
        }
        let id = CanonicalId::parse(IdType::Uscc, &format!("{pre}{messy}{post}"), fengxin_types::CivilDate::today_china());
        prop_assert_eq!(id.as_ref().map(CanonicalId::as_str), Ok(code.as_str()));
    }

    #[test]
    fn uscc_single_change_is_caught(
        code in uscc(),
        position in 0usize..18,
        pick in any::<prop::sample::Index>(),
    ) {
        let alternatives: Vec<char> = Uscc::ALPHABET
            .chars()
            .filter(|&c| Some(c) != code.chars().nth(position))
            .collect();
        let replacement = *pick.get(&alternatives);
        let changed: String = code
            .chars()
            .enumerate()
            .map(|(i, c)| if i == position { replacement } else { c })
            .collect();
        prop_assert!(
            Uscc::parse(&changed).is_err(),
            "{} accepted after changing position {}", changed, position + 1
        );
    }
}

// ----- bank_card -----

/// A valid card number of 12-19 digits.
fn bank_card() -> impl Strategy<Value = String> {
    (11usize..=18)
        .prop_flat_map(|len| prop::collection::vec(0u8..10, len))
        .prop_map(|digits| {
            let payload: String = digits.into_iter().map(|d| char::from(b'0' + d)).collect();
            let check = BankCard::luhn_check_digit(&payload).expect("digits");
            format!("{payload}{check}")
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn bank_card_canonical_is_fixed_point(card in bank_card()) {
        let id = assert_fixed_point(IdType::BankCard, &card)?;
        prop_assert_eq!(id.as_str(), card.as_str());
    }

    #[test]
    fn bank_card_grouped_forms_clean_to_canonical(
        card in bank_card(),
        sep in prop::sample::select(vec![" ", "-", "\u{3000}", "  "]),
        wide in any::<bool>(),
    ) {
        let grouped = card
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(sep);
        let grouped = if wide { full_width(&grouped) } else { grouped };
        let id = CanonicalId::parse(IdType::BankCard, &grouped, fengxin_types::CivilDate::today_china());
        prop_assert_eq!(id.as_ref().map(CanonicalId::as_str), Ok(card.as_str()));
    }

    #[test]
    fn bank_card_single_change_is_caught(
        card in bank_card(),
        position in any::<prop::sample::Index>(),
        delta in 1u8..10,
    ) {
        let position = position.index(card.len());
        let mut bytes = card.clone().into_bytes();
        bytes[position] = b'0' + (bytes[position] - b'0' + delta) % 10;
        let changed = String::from_utf8(bytes).expect("ASCII");
        prop_assert!(
            matches!(BankCard::parse(&changed), Err(IdError::Luhn { .. })),
            "{} accepted after changing position {}", changed, position + 1
        );
    }
}

// ----- phone, account, email, device_id -----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn mainland_mobile_forms_agree(
        rest in 3u64..10,
        number in 0u64..1_000_000_000,
        style in 0usize..6,
        wide in any::<bool>(),
    ) {
        let national = format!("1{rest}{number:09}");
        let canonical = format!("+86{national}");
        let (a, b, c) = (&national[..3], &national[3..7], &national[7..]);
        let raw = match style {
            0 => national.clone(),
            1 => format!("{a} {b} {c}"),
            2 => format!("{a}-{b}-{c}"),
            3 => format!("+86 {a} {b} {c}"),
            4 => format!("0086{national}"),
            _ => format!("(+86) {a}.{b}.{c}"),
        };
        let raw = if wide { full_width(&raw) } else { raw };
        let id = assert_fixed_point(IdType::Phone, &raw)?;
        prop_assert_eq!(id.as_str(), canonical.as_str());
    }

    #[test]
    fn phone_parse_is_idempotent(raw in "[+]?[0-9 ().-]{0,22}") {
        if let Ok(id) = CanonicalId::parse(IdType::Phone, &raw, fengxin_types::CivilDate::today_china()) {
            prop_assert_eq!(CanonicalId::parse(IdType::Phone, id.as_str(), fengxin_types::CivilDate::today_china()), Ok(id.clone()));
            let digits = &id.as_str()[1..];
            prop_assert!((8..=15).contains(&digits.len()));
            prop_assert!(digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0'));
        }
    }

    #[test]
    fn account_parse_is_idempotent(raw in "[ ]?[a-zA-Z0-9_./ -]{1,70}[ ]?") {
        if let Ok(id) = CanonicalId::parse(IdType::Account, &raw, fengxin_types::CivilDate::today_china()) {
            prop_assert_eq!(id.as_str(), raw.trim().to_ascii_uppercase());
            prop_assert_eq!(CanonicalId::parse(IdType::Account, id.as_str(), fengxin_types::CivilDate::today_china()), Ok(id.clone()));
        }
    }

    #[test]
    fn email_parse_is_idempotent(
        raw in "[a-zA-Z0-9.+_-]{0,12}@[a-zA-Z0-9-]{0,8}([.][a-zA-Z0-9-]{0,5}){0,3}",
        wide in any::<bool>(),
    ) {
        let input = if wide { full_width(&raw) } else { raw.clone() };
        if let Ok(id) = CanonicalId::parse(IdType::Email, &input, fengxin_types::CivilDate::today_china()) {
            prop_assert_eq!(id.as_str(), raw.to_ascii_lowercase());
            prop_assert_eq!(CanonicalId::parse(IdType::Email, id.as_str(), fengxin_types::CivilDate::today_china()), Ok(id.clone()));
        }
    }

    #[test]
    fn valid_emails_parse(
        local in "[a-z0-9]{1,10}([._+-][a-z0-9]{1,10}){0,2}",
        domain in "[a-z0-9]{1,10}(-[a-z0-9]{1,5})?([.][a-z]{2,6}){1,2}",
    ) {
        let email = format!("{local}@{domain}");
        let id = assert_fixed_point(IdType::Email, &email.to_ascii_uppercase())?;
        prop_assert_eq!(id.as_str(), email.as_str());
    }

    #[test]
    fn uuid_forms_agree(bytes in any::<[u8; 16]>(), style in 0usize..4) {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let canonical = format!(
            "{}-{}-{}-{}-{}",
            &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]
        );
        let raw = match style {
            0 => canonical.clone(),
            1 => canonical.to_ascii_uppercase(),
            2 => format!("{{{}}}", canonical.to_ascii_uppercase()),
            _ => hex.to_ascii_uppercase(),
        };
        let id = assert_fixed_point(IdType::DeviceId, &raw)?;
        prop_assert_eq!(id.as_str(), canonical.as_str());
    }

    #[test]
    fn hex_device_ids(hex in "[0-9a-fA-F]{8,128}") {
        let result = CanonicalId::parse(IdType::DeviceId, &hex, fengxin_types::CivilDate::today_china());
        if hex.len() == 32 {
            prop_assert_eq!(result.map(|id| id.as_str().len()), Ok(36));
        } else {
            let id = assert_fixed_point(IdType::DeviceId, &hex)?;
            prop_assert_eq!(id.as_str(), hex.to_ascii_lowercase());
        }
    }
}

// ----- every type: garbage never panics, and whatever parses is a fixed point -----

fn garbage() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9xX ＋+()@.{}-]{0,40}",
        "[\\x00-\\x7f]{0,40}",
        "[０-９ａ-ｚＡ-Ｚ＠．　]{0,30}",
        "\\PC{0,300}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn garbage_never_panics_and_results_are_fixed_points(raw in garbage()) {
        for t in IdType::ALL {
            match CanonicalId::parse(t, &raw, fengxin_types::CivilDate::today_china()) {
                Ok(id) => {
                    prop_assert_eq!(id.id_type(), t);
                    prop_assert_eq!(CanonicalId::parse(t, id.as_str(), fengxin_types::CivilDate::today_china()), Ok(id.clone()));
                    prop_assert!(id.as_str().is_ascii());
                }
                Err(e) => {
                    let reason = e.to_string();
                    prop_assert!(!reason.is_empty() && !reason.contains('\n'));
                }
            }
        }
    }
}

#[test]
fn huge_input_is_rejected_cheaply() {
    let huge = "1".repeat(10_000_000);
    for t in IdType::ALL {
        assert!(matches!(
            CanonicalId::parse(t, &huge, fengxin_types::CivilDate::today_china()),
            Err(IdError::InputTooLong { .. })
        ));
    }
}
