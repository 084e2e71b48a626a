//! Realistic shapes of each identifier type, generated from an index.
//!
//! Each identifier type is split into a few *kinds* (for example UUIDs and Android ids for
//! `device_id`), interleaved in a fixed pattern of slots (`device_id`: UUID, UUID, UUID,
//! Android id); every index maps to a distinct position within its kind. Within a kind, a keyed [`Permutation`] maps the index to a point of a structured domain (region ×
//! birth date × sequence number, BIN × serial, …), so values are distinct until the domain is
//! exhausted (hundreds of millions or more for every kind), and different kinds never produce
//! the same string.

use crate::permute::{mix, Permutation};
use fengxin_types::id::{BankCard, CivilDate, CnId, Uscc};
use fengxin_types::IdType;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha12Rng;
use std::fmt::Write as _;

/// County-level region codes (GB/T 2260) from every province-level division.
pub(crate) const REGIONS: [&str; 42] = [
    "110101", "110105", "110108", "120101", "130102", "140105", "150102", "210102", "220102",
    "230102", "310101", "310104", "310115", "320102", "320506", "330102", "330106", "340103",
    "350102", "350203", "360102", "370102", "370202", "410105", "420106", "430102", "440103",
    "440106", "440304", "440305", "450103", "460105", "500103", "510104", "510107", "520102",
    "530102", "540102", "610103", "620102", "630102", "650102",
];

/// Unified social credit code registration-authority and organisation-type prefixes:
/// companies, individual businesses, cooperatives, public institutions, social organisations.
const USCC_HEADS: [&str; 6] = ["91", "91", "92", "93", "12", "52"];

/// Mainland mobile number prefixes (first three digits).
const MOBILE_PREFIXES: [&str; 38] = [
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "145", "147", "150",
    "151", "152", "153", "155", "156", "157", "158", "159", "166", "170", "173", "175", "176",
    "177", "178", "180", "181", "182", "183", "185", "186", "187", "188", "189", "199",
];

/// Card BINs (UnionPay-style 62…, plus a few co-branded Visa/Mastercard) and card lengths.
const CARD_BINS: [(&str, usize); 12] = [
    ("622202", 19),
    ("621226", 19),
    ("622848", 19),
    ("621700", 19),
    ("622700", 19),
    ("601382", 19),
    ("622588", 16),
    ("621483", 16),
    ("622260", 19),
    ("625965", 16),
    ("436742", 16),
    ("524047", 16),
];

/// Four-digit branch codes that open account numbers.
const BRANCHES: [&str; 20] = [
    "1001", "1100", "1201", "3100", "3101", "3202", "3301", "3502", "3701", "4100", "4201", "4301",
    "4400", "4403", "5001", "5101", "6101", "6217", "6228", "9558",
];

/// E-mail domains.
const EMAIL_DOMAINS: [&str; 12] = [
    "qq.com",
    "163.com",
    "126.com",
    "sina.com",
    "sohu.com",
    "foxmail.com",
    "139.com",
    "yeah.net",
    "aliyun.com",
    "gmail.com",
    "outlook.com",
    "hotmail.com",
];

/// One-syllable pinyin surnames.
const SURNAMES: [&str; 40] = [
    "wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun", "ma",
    "zhu", "hu", "guo", "he", "gao", "lin", "luo", "zheng", "liang", "xie", "song", "tang", "han",
    "feng", "deng", "cao", "peng", "zeng", "xiao", "tian", "dong", "yuan", "pan", "jiang", "cai",
    "lu", "wei",
];

/// Two-syllable pinyin given names (never equal to a surname).
const GIVEN_NAMES: [&str; 40] = [
    "xiaoming", "jianguo", "lili", "yuting", "haoran", "zihan", "yuxuan", "xinyi", "junjie",
    "jiahui", "wenjing", "zhiqiang", "xiuying", "guiying", "jianhua", "mingyu", "ruoxi", "yichen",
    "haoyu", "shuang", "tingting", "jing", "xiaohong", "dawei", "chunmei", "lihua", "zhiwei",
    "yanping", "guoqiang", "huimin", "jiayi", "zeyu", "siyu", "kaiwen", "mengqi", "yifan", "shiyu",
    "tianyu", "xiaolong", "yuhang",
];

/// Birth dates of generated resident IDs: 1950-01-01 to 2005-12-31.
const BIRTH_FIRST: (u16, u8, u8) = (1950, 1, 1);
const BIRTH_LAST: (u16, u8, u8) = (2005, 12, 31);

/// One kind of value of an identifier type.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Resident ID: region × birth date × sequence number.
    CnId,
    /// Unified social credit code: prefix × region × 6 organisation-code characters.
    Uscc,
    /// Mainland mobile number: prefix × 8 digits.
    Mobile,
    /// Card number: BIN × 9-digit serial.
    Card,
    /// Account number: style × branch × 15-digit serial.
    Account,
    /// Name-based e-mail: domain × surname × given name × style × number.
    EmailName,
    /// Numeric QQ mailbox.
    EmailQq,
    /// Random (version 4) UUID.
    Uuid,
    /// 16-hex-digit Android id.
    AndroidId,
}

impl Kind {
    fn domain(self) -> u64 {
        let birth_days = days(BIRTH_LAST) - days(BIRTH_FIRST) + 1;
        match self {
            Kind::CnId => REGIONS.len() as u64 * birth_days * 1000,
            Kind::Uscc => USCC_HEADS.len() as u64 * REGIONS.len() as u64 * 31u64.pow(6),
            Kind::Mobile => MOBILE_PREFIXES.len() as u64 * 100_000_000,
            Kind::Card => CARD_BINS.len() as u64 * 1_000_000_000,
            Kind::Account => 10 * BRANCHES.len() as u64 * 1_000_000_000_000_000,
            Kind::EmailName => {
                (EMAIL_DOMAINS.len() * SURNAMES.len() * GIVEN_NAMES.len() * 3) as u64 * 10_000
            }
            Kind::EmailQq => 3_000_000_000,
            Kind::Uuid | Kind::AndroidId => u64::MAX,
        }
    }
}

fn days((y, m, d): (u16, u8, u8)) -> u64 {
    CivilDate::new(y, m, d)
        .map(|c| c.days_since_epoch())
        .and_then(|d| u64::try_from(d + 1_000_000).ok())
        .expect("the birth-date bounds are real dates after year 0")
}

/// Takes `v mod radix` off `v`, returning it as an index.
fn take(v: &mut u64, radix: usize) -> usize {
    let r = radix as u64;
    let digit = *v % r;
    *v /= r;
    // digit < radix, which is a usize
    digit as usize
}

/// A deterministic generator of valid identifiers of one type, from a seed.
///
/// [`Generator::get`] is a pure function of (type, seed, index): the first `k` values are the
/// same whatever the requested count.
#[derive(Clone, Debug)]
pub struct Generator {
    id_type: IdType,
    /// Each kind once, with its two permutations.
    kinds: Vec<(Kind, Permutation, Permutation)>,
    /// The interleaving pattern: for each slot, (kind index, rank among that kind's slots,
    /// number of that kind's slots).
    slots: Vec<(usize, u64, u64)>,
    salt: u64,
}

/// Per-type, per-purpose RNG derived from the seed.
pub(crate) fn rng_for(seed: u64, id_type: IdType, purpose: u8) -> ChaCha12Rng {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&seed.to_le_bytes());
    s[8] = IdType::ALL
        .iter()
        .position(|&t| t == id_type)
        .and_then(|p| u8::try_from(p).ok())
        .unwrap_or(u8::MAX);
    s[9] = purpose;
    s[10..].copy_from_slice(b"fengxin-sample-v1\0\0\0\0\0");
    ChaCha12Rng::from_seed(s)
}

impl Generator {
    /// The generator of `id_type` values for `seed`.
    pub fn new(id_type: IdType, seed: u64) -> Self {
        // (kind, slots it takes in the interleaving pattern)
        let kinds: &[(Kind, u64)] = match id_type {
            IdType::CnId => &[(Kind::CnId, 1)],
            IdType::Uscc => &[(Kind::Uscc, 1)],
            IdType::Phone => &[(Kind::Mobile, 1)],
            IdType::BankCard => &[(Kind::Card, 1)],
            IdType::Account => &[(Kind::Account, 1)],
            IdType::Email => &[(Kind::EmailName, 2), (Kind::EmailQq, 1)],
            IdType::DeviceId => &[(Kind::Uuid, 3), (Kind::AndroidId, 1)],
        };
        let mut rng = rng_for(seed, id_type, 0);
        let mut slots = Vec::new();
        for (ki, &(_, count)) in kinds.iter().enumerate() {
            slots.extend((0..count).map(|rank| (ki, rank, count)));
        }
        let kinds = kinds
            .iter()
            .map(|&(k, _)| {
                let p = Permutation::new(k.domain(), &mut rng);
                let q = Permutation::new(k.domain(), &mut rng);
                (k, p, q)
            })
            .collect();
        Self {
            id_type,
            kinds,
            slots,
            salt: rng.next_u64(),
        }
    }

    /// The identifier type generated.
    pub fn id_type(&self) -> IdType {
        self.id_type
    }

    /// The `index`-th identifier, in canonical form.
    pub fn get(&self, index: u64) -> String {
        let mut out = String::with_capacity(40);
        self.write(index, &mut out);
        out
    }

    /// Appends the `index`-th identifier, in canonical form, to `out`.
    pub fn write(&self, index: u64, out: &mut String) {
        let k = self.slots.len().max(1) as u64;
        let Some(&(ki, rank, count)) = self.slots.get((index % k) as usize) else {
            return;
        };
        let Some((kind, p, q)) = self.kinds.get(ki) else {
            return;
        };
        // Distinct indices map to distinct positions j within the kind.
        let j = (index / k) * count + rank;
        let mut v = p.apply(j);
        match kind {
            Kind::CnId => cn_id(&mut v, out),
            Kind::Uscc => uscc(&mut v, out),
            Kind::Mobile => {
                let prefix = MOBILE_PREFIXES[take(&mut v, MOBILE_PREFIXES.len())];
                let _ = write!(out, "+86{prefix}{v:08}");
            }
            Kind::Card => {
                let (bin, len) = CARD_BINS[take(&mut v, CARD_BINS.len())];
                let start = out.len();
                out.push_str(bin);
                // Longer cards get extra branch digits derived from the serial.
                let extra = len - 16;
                if extra > 0 {
                    let branch = mix(v ^ self.salt) % 10u64.pow(extra as u32);
                    let _ = write!(out, "{branch:0extra$}");
                }
                let _ = write!(out, "{v:09}");
                let check = BankCard::luhn_check_digit(&out[start..])
                    .expect("BIN and serial are ASCII digits");
                out.push(check);
            }
            Kind::Account => {
                let style = take(&mut v, 10);
                let branch = BRANCHES[take(&mut v, BRANCHES.len())];
                if style == 0 {
                    out.push_str("NRA");
                }
                let _ = write!(out, "{branch}{v:015}");
            }
            Kind::EmailName => {
                let domain = EMAIL_DOMAINS[take(&mut v, EMAIL_DOMAINS.len())];
                let surname = SURNAMES[take(&mut v, SURNAMES.len())];
                let given = GIVEN_NAMES[take(&mut v, GIVEN_NAMES.len())];
                let _ = match take(&mut v, 3) {
                    0 => write!(out, "{surname}.{given}{v}@{domain}"),
                    1 => write!(out, "{surname}_{given}{v}@{domain}"),
                    _ => write!(out, "{given}.{surname}{v}@{domain}"),
                };
            }
            Kind::EmailQq => {
                let _ = write!(out, "{}@qq.com", 100_000 + v);
            }
            Kind::Uuid => {
                let hi = (v & !0xF000) | 0x4000; // version 4
                let lo = (q.apply(j) & !(0b11 << 62)) | (0b10 << 62); // RFC 4122 variant
                let _ = write!(
                    out,
                    "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                    hi >> 32,
                    (hi >> 16) & 0xFFFF,
                    hi & 0xFFFF,
                    lo >> 48,
                    lo & 0xFFFF_FFFF_FFFF
                );
            }
            Kind::AndroidId => {
                let _ = write!(out, "{v:016x}");
            }
        }
    }
}

fn cn_id(v: &mut u64, out: &mut String) {
    let seq = take(v, 1000);
    let birth_days = (days(BIRTH_LAST) - days(BIRTH_FIRST) + 1) as usize;
    let day = take(v, birth_days) as i64;
    let region = REGIONS[take(v, REGIONS.len())];
    let first = CivilDate::new(BIRTH_FIRST.0, BIRTH_FIRST.1, BIRTH_FIRST.2)
        .expect("the first birth date is real");
    let birth = CivilDate::from_days_since_epoch(first.days_since_epoch() + day);
    let start = out.len();
    let _ = write!(out, "{region}{:08}{seq:03}", birth.yyyymmdd());
    let check = CnId::check_character(&out[start..]).expect("17 ASCII digits by construction");
    out.push(check);
}

fn uscc(v: &mut u64, out: &mut String) {
    let head = USCC_HEADS[take(v, USCC_HEADS.len())];
    let region = REGIONS[take(v, REGIONS.len())];
    let alphabet = Uscc::ALPHABET.as_bytes();
    // Organisation code (GB 11714): "MA" + 6 characters + check character.
    let mut org = [b'M', b'A', 0, 0, 0, 0, 0, 0];
    for c in org.iter_mut().skip(2) {
        *c = alphabet[take(v, alphabet.len())];
    }
    const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = org
        .iter()
        .zip(WEIGHTS)
        .map(|(&c, w)| char::from(c).to_digit(36).unwrap_or(0) * w)
        .sum();
    let org_check = match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        d => char::from_digit(d, 10).unwrap_or('0'),
    };
    let start = out.len();
    out.push_str(head);
    out.push_str(region);
    out.extend(org.iter().map(|&c| char::from(c)));
    out.push(org_check);
    let check = Uscc::check_character(&out[start..]).expect("17 code characters by construction");
    out.push(check);
}

/// The first `count` identifiers of `id_type` for `seed` (see [`crate::identifiers`]).
#[derive(Clone, Debug)]
pub struct Identifiers {
    generator: Generator,
    next: u64,
    end: u64,
}

impl Identifiers {
    pub(crate) fn new(id_type: IdType, count: usize, seed: u64) -> Self {
        Self {
            generator: Generator::new(id_type, seed),
            next: 0,
            end: count as u64,
        }
    }
}

impl Iterator for Identifiers {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        (self.next < self.end).then(|| {
            self.next += 1;
            self.generator.get(self.next - 1)
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.end - self.next).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Identifiers {}
