//! Conformance checks for implementations of [`PeerRegistry`], so the ledger's registry
//! can be held to the same contract as [`StaticRegistry`](crate::StaticRegistry).
//!
//! These functions panic on a violation; call them from tests.

use crate::PeerRegistry;
use fengxin_crypto::IdentityPublicKey;
use fengxin_types::MemberName;

/// Checks `registry`, which must hold exactly `members` among the keys tested, and none
/// of `non_members`:
///
/// * every member key maps to its name, and repeated lookups agree;
/// * every non-member key maps to `None`;
/// * concurrent lookups from several threads give the same answers (the registry is
///   consulted from inside concurrent TLS handshakes).
pub fn check_peer_registry<R: PeerRegistry + ?Sized>(
    registry: &R,
    members: &[(IdentityPublicKey, MemberName)],
    non_members: &[IdentityPublicKey],
) {
    let expect_all = |who: &str| {
        for (key, name) in members {
            assert_eq!(
                registry.member_for_key(key).as_ref(),
                Some(name),
                "{who}: member key {key} must map to {name}"
            );
        }
        for key in non_members {
            assert_eq!(
                registry.member_for_key(key),
                None,
                "{who}: non-member key {key} must not be admitted"
            );
        }
    };
    expect_all("first lookup");
    expect_all("repeated lookup");
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| expect_all("concurrent lookup"));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StaticRegistry;
    use fengxin_crypto::IdentityKey;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn static_registry_conforms() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let members: Vec<_> = ["bank-a", "bank-b", "bank-c"]
            .iter()
            .map(|n| {
                (
                    IdentityKey::generate(&mut rng).public(),
                    MemberName::parse(n).expect("valid name"),
                )
            })
            .collect();
        let outsider = IdentityKey::generate(&mut rng).public();
        let registry: StaticRegistry = members.iter().cloned().collect();
        check_peer_registry(&registry, &members, &[outsider]);
        check_peer_registry(&StaticRegistry::default(), &[], &[outsider]);

        // Replacing a member's name is visible; removal is revocation.
        let mut registry = registry;
        let renamed = MemberName::parse("bank-a2").expect("valid name");
        registry.insert(members[0].0, renamed.clone());
        assert_eq!(registry.member_for_key(&members[0].0), Some(renamed));
    }
}
