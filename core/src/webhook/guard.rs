//! The SSRF guard: webhook endpoints may only reach public internet addresses, so an API key
//! cannot turn the dispatcher into a scanner of the network PayIn runs in (cloud metadata at
//! 169.254.169.254, databases on 10.0.0.0/8, admin ports on loopback).
//!
//! - [`forbidden_range`] is the decision: pure, table-tested, over every form an address can
//!   take (IPv4, IPv6, IPv4-mapped and -compatible IPv6, NAT64 and 6to4 embeddings).
//! - [`AddressPolicy`] adds the operator's exceptions (`[webhooks] allow_private` in the config
//!   file; `payin dev` allows loopback) and applies the decision at registration
//!   ([`AddressPolicy::check_registration`], after resolving the host) and at every delivery.
//! - [`GuardedResolver`] is the dispatcher's DNS resolver: it resolves, drops every address the
//!   policy refuses, and hands only the rest to the connector, so the request connects to an
//!   address that was checked; a DNS answer that changes between the check and the connection
//!   (rebinding) cannot swap it. IP literals never reach a resolver: the dispatcher checks them
//!   with [`AddressPolicy::check_literal`] before sending.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};

/// Why an address is not reachable by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forbidden {
    Unspecified,
    Loopback,
    /// RFC 1918 and IPv6 unique local (fc00::/7).
    Private,
    LinkLocal,
    /// Carrier-grade NAT, 100.64.0.0/10.
    Shared,
    Multicast,
    Broadcast,
    Documentation,
    /// Reserved, benchmarking, protocol-assignment and other non-global ranges.
    Reserved,
}

impl Forbidden {
    pub fn as_str(self) -> &'static str {
        match self {
            Forbidden::Unspecified => "unspecified",
            Forbidden::Loopback => "loopback",
            Forbidden::Private => "private",
            Forbidden::LinkLocal => "link-local",
            Forbidden::Shared => "shared (carrier-grade NAT)",
            Forbidden::Multicast => "multicast",
            Forbidden::Broadcast => "broadcast",
            Forbidden::Documentation => "documentation",
            Forbidden::Reserved => "reserved",
        }
    }
}

impl fmt::Display for Forbidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The range `ip` belongs to that webhooks may not reach unless the operator allows it, or
/// `None` for a public address. IPv6 forms that carry an IPv4 address (mapped, compatible,
/// NAT64, 6to4) are judged by that IPv4 address.
pub fn forbidden_range(ip: IpAddr) -> Option<Forbidden> {
    match ip {
        IpAddr::V4(a) => v4_range(a),
        IpAddr::V6(a) => v6_range(a),
    }
}

fn v4_range(a: Ipv4Addr) -> Option<Forbidden> {
    let [o0, o1, o2, _] = a.octets();
    Some(if o0 == 0 {
        // 0.0.0.0/8, "this network": 0.0.0.0 connects to the local host on most systems.
        Forbidden::Unspecified
    } else if a.is_loopback() {
        Forbidden::Loopback
    } else if a.is_private() {
        Forbidden::Private
    } else if a.is_link_local() {
        Forbidden::LinkLocal
    } else if o0 == 100 && (o1 & 0xc0) == 64 {
        Forbidden::Shared
    } else if a.is_broadcast() {
        Forbidden::Broadcast
    } else if a.is_multicast() {
        Forbidden::Multicast
    } else if a.is_documentation() {
        Forbidden::Documentation
    } else if (o0, o1, o2) == (192, 0, 0)
        || (o0, o1, o2) == (192, 88, 99)
        || (o0 == 198 && (o1 & 0xfe) == 18)
        || o0 >= 240
    {
        // IETF protocol assignments, the deprecated 6to4 relay anycast, benchmarking, 240/4.
        Forbidden::Reserved
    } else {
        return None;
    })
}

fn v6_range(a: Ipv6Addr) -> Option<Forbidden> {
    let s = a.segments();
    if a.is_unspecified() {
        return Some(Forbidden::Unspecified);
    }
    if a.is_loopback() {
        return Some(Forbidden::Loopback);
    }
    if let Some(v4) = a.to_ipv4_mapped() {
        return v4_range(v4);
    }
    if let Some(v4) = embedded_ipv4(a) {
        // IPv4-compatible (::a.b.c.d, deprecated, never routed) is refused whatever it embeds.
        let compatible = s[..6] == [0; 6];
        return v4_range(v4).or(compatible.then_some(Forbidden::Reserved));
    }
    Some(if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        // 64:ff9b:1::/48, local-use NAT64 (RFC 8215): translates into the operator's network.
        Forbidden::Reserved
    } else if (s[0] == 0x2001 && s[1] == 0x0db8) || (s[0] & 0xfff0) == 0x3ff0 {
        // 2001:db8::/32 and 3fff::/20.
        Forbidden::Documentation
    } else if s[0] == 0x2001 && s[1] < 0x0200 {
        // 2001::/23, IETF protocol assignments: Teredo (2001::/32, an obfuscated IPv4 inside),
        // benchmarking, ORCHID.
        Forbidden::Reserved
    } else if (s[0] & 0xfe00) == 0xfc00 {
        Forbidden::Private
    } else if (s[0] & 0xffc0) == 0xfe80 {
        Forbidden::LinkLocal
    } else if (s[0] & 0xffc0) == 0xfec0 {
        // Site-local, deprecated: a private range on networks that still use it.
        Forbidden::Private
    } else if s[0] >> 8 == 0xff {
        Forbidden::Multicast
    } else if (s[0] & 0xe000) != 0x2000 {
        // Outside 2000::/3, the global unicast space: discard-only (100::/64) and unassigned.
        Forbidden::Reserved
    } else {
        return None;
    })
}

/// The IPv4 address an IPv6 address stands for on the way to its destination: IPv4-compatible
/// (::a.b.c.d), NAT64 well-known prefix (64:ff9b::/96) and 6to4 (2002:aabb:ccdd::/48).
/// IPv4-mapped addresses are handled by `to_ipv4_mapped`.
fn embedded_ipv4(a: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = a.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if s[..6] == [0; 6] || (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4]) {
        Some(v4(s[6], s[7]))
    } else if s[0] == 0x2002 {
        Some(v4(s[1], s[2]))
    } else {
        None
    }
}

/// A webhook delivery the guard did not let through. Its message is the same whatever the
/// address was, so a delivery log tells nothing about the network behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "refused: the endpoint's address is not a public internet address and the config does not \
     allow it ([webhooks] allow_private); nothing was sent"
)]
pub struct Refused;

/// Which addresses webhooks may reach: every public address, and the non-public ranges the
/// operator allows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    allowed: Vec<IpNet>,
}

/// How long registration waits for the endpoint's host to resolve. A host that does not
/// resolve in time (or at all) is accepted: every delivery resolves and checks again.
const REGISTRATION_LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

impl AddressPolicy {
    /// Public addresses, and the `allowed` ranges besides.
    pub fn new(allowed: Vec<IpNet>) -> AddressPolicy {
        AddressPolicy { allowed }
    }

    /// The ranges allowed besides public addresses.
    pub fn allowed(&self) -> &[IpNet] {
        &self.allowed
    }

    /// Whether webhooks may reach `ip`; when not, the range it falls in. An allowed range
    /// covers the IPv4-mapped and -compatible IPv6 forms of its addresses too.
    pub fn check(&self, ip: IpAddr) -> std::result::Result<(), Forbidden> {
        let Some(why) = forbidden_range(ip) else {
            return Ok(());
        };
        let same_host = match ip {
            IpAddr::V6(a) => a
                .to_ipv4_mapped()
                .or_else(|| (a.segments()[..6] == [0; 6]).then(|| embedded_ipv4(a)).flatten())
                .map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        let allowed = |ip: IpAddr| self.allowed.iter().any(|net| net.contains(&ip));
        if allowed(ip) || same_host.is_some_and(allowed) {
            Ok(())
        } else {
            Err(why)
        }
    }

    /// The addresses of a resolved host that webhooks may reach; [`Refused`] when none is.
    pub fn admit(&self, addrs: impl IntoIterator<Item = SocketAddr>) -> std::result::Result<Vec<SocketAddr>, Refused> {
        let admitted: Vec<SocketAddr> = addrs.into_iter().filter(|a| self.check(a.ip()).is_ok()).collect();
        if admitted.is_empty() {
            Err(Refused)
        } else {
            Ok(admitted)
        }
    }

    /// Before sending to `url`: an IP-literal host is checked here (the connector takes it
    /// as it is); a host name is checked by [`GuardedResolver`] when it is resolved.
    pub fn check_literal(&self, url: &str) -> std::result::Result<(), Refused> {
        match url::Url::parse(url).ok().as_ref().and_then(url::Url::host) {
            Some(url::Host::Ipv4(ip)) => self.check(IpAddr::V4(ip)).map_err(|_| Refused),
            Some(url::Host::Ipv6(ip)) => self.check(IpAddr::V6(ip)).map_err(|_| Refused),
            Some(url::Host::Domain(_)) => Ok(()),
            None => Err(Refused),
        }
    }

    /// Resolves `host` for a delivery and keeps the addresses the policy allows. Names under
    /// `localhost` are loopback by definition (RFC 6761) and are not sent to DNS.
    pub async fn resolve(&self, host: &str, port: u16) -> std::result::Result<Vec<SocketAddr>, ResolveError> {
        let addrs = lookup(host, port).await.map_err(ResolveError::Lookup)?;
        self.admit(addrs).map_err(ResolveError::Refused)
    }

    /// At registration: `url` (already parsed by `parse_url`) is refused when no delivery could
    /// reach it: an IP literal the policy refuses, or a host name whose every address it
    /// refuses (of a name with both kinds, deliveries only ever connect to the allowed ones).
    /// A host name that does not resolve now is accepted; deliveries check again each time.
    /// The error names `field`.
    pub async fn check_registration(&self, field: &str, url: &str) -> Result<()> {
        let parsed = url::Url::parse(url).map_err(|_| Error::validation(field, format!("{field} is not a URL")))?;
        let refuse = |what: String, why: Forbidden| {
            Error::validation(
                field,
                format!(
                    "{field} {what} a {why} address, which webhooks may not reach: use a public address \
                     (the operator can allow a range with [webhooks] allow_private in the config file)"
                ),
            )
        };
        match parsed.host() {
            Some(url::Host::Ipv4(ip)) => self
                .check(IpAddr::V4(ip))
                .map_err(|why| refuse(format!("points to {ip},"), why)),
            Some(url::Host::Ipv6(ip)) => self
                .check(IpAddr::V6(ip))
                .map_err(|why| refuse(format!("points to {ip},"), why)),
            Some(url::Host::Domain(host)) => {
                let port = parsed.port_or_known_default().unwrap_or(443);
                let resolved = tokio::time::timeout(REGISTRATION_LOOKUP_TIMEOUT, lookup(host, port)).await;
                let Ok(Ok(addrs)) = resolved else {
                    return Ok(());
                };
                if addrs.is_empty() || addrs.iter().any(|a| self.check(a.ip()).is_ok()) {
                    return Ok(());
                }
                // The resolved addresses are not named: they may describe the internal network.
                let why = forbidden_range(addrs[0].ip()).unwrap_or(Forbidden::Reserved);
                Err(refuse(format!("names host {host}, which resolves to"), why))
            }
            None => Err(Error::validation(field, format!("{field} must name a host"))),
        }
    }
}

/// Why a delivery's host gave no address to connect to.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Refused(Refused),
    #[error("could not resolve the endpoint's host: {0}")]
    Lookup(std::io::Error),
}

fn is_localhost(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// Names under the special-use top-level domains that never resolve on the public internet
/// (RFC 2606 / RFC 6761: `.example`, `.invalid`, `.test`): no DNS query is sent for them.
fn is_special_use(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    ["example", "invalid", "test"]
        .iter()
        .any(|tld| host == *tld || host.ends_with(&format!(".{tld}")))
}

/// The host's addresses: loopback for `localhost` names, none for special-use names (without
/// asking DNS), the system resolver for the rest.
async fn lookup(host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    if is_special_use(host) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{host} is a special-use name that never resolves"),
        ));
    }
    if is_localhost(host) {
        return Ok(vec![
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port),
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), port),
        ]);
    }
    Ok(tokio::net::lookup_host((host, port)).await?.collect())
}

/// The dispatcher's DNS resolver (see the module docs): only addresses the policy allows are
/// returned, and a host with none fails with [`Refused`] inside the request's error.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: Arc<AddressPolicy>,
}

impl GuardedResolver {
    pub fn new(policy: Arc<AddressPolicy>) -> GuardedResolver {
        GuardedResolver { policy }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            // Port 0: reqwest puts the URL's port (or the scheme's) on every address.
            let addrs = policy.resolve(&host, 0).await.map_err(|e| match e {
                ResolveError::Refused(r) => Box::new(r) as Box<dyn std::error::Error + Send + Sync>,
                e => Box::new(e),
            })?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether a delivery's error is the guard's refusal (wherever reqwest wrapped it).
pub fn is_refusal(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(e) = source {
        if e.is::<Refused>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// The ranges of `[webhooks] allow_private`: CIDRs (`10.0.0.0/8`, `fd00::/8`) or single
/// addresses (`10.1.2.3`).
pub fn deserialize_nets<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<IpNet>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|s| parse_net(s).map_err(serde::de::Error::custom))
        .collect()
}

/// One range of `[webhooks] allow_private`.
pub fn parse_net(s: &str) -> std::result::Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{s:?} is not an address range (e.g. \"10.0.0.0/8\") or an address"))
}

/// Loopback, IPv4 and IPv6: what `payin dev` allows, and tests whose receivers listen on
/// 127.0.0.1.
pub fn loopback() -> Vec<IpNet> {
    vec![
        parse_net("127.0.0.0/8").expect("a CIDR"),
        parse_net("::1/128").expect("a CIDR"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Every address here is only parsed and judged; nothing connects anywhere.
    #[test]
    fn non_public_addresses_are_refused_in_every_form() {
        use Forbidden::*;
        let table: &[(&str, Option<Forbidden>)] = &[
            // IPv4
            ("0.0.0.0", Some(Unspecified)),
            ("0.1.2.3", Some(Unspecified)),
            ("127.0.0.1", Some(Loopback)),
            ("127.255.255.254", Some(Loopback)),
            ("10.0.0.1", Some(Private)),
            ("172.16.0.1", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("192.168.1.1", Some(Private)),
            ("169.254.169.254", Some(LinkLocal)),
            ("100.64.0.1", Some(Shared)),
            ("100.127.255.255", Some(Shared)),
            ("224.0.0.1", Some(Multicast)),
            ("239.255.255.250", Some(Multicast)),
            ("255.255.255.255", Some(Broadcast)),
            ("192.0.2.1", Some(Documentation)),
            ("198.51.100.7", Some(Documentation)),
            ("203.0.113.9", Some(Documentation)),
            ("192.0.0.8", Some(Reserved)),
            ("198.18.0.1", Some(Reserved)),
            ("198.19.255.255", Some(Reserved)),
            ("192.88.99.1", Some(Reserved)),
            ("240.0.0.1", Some(Reserved)),
            // IPv4 neighbours of the ranges stay public.
            ("1.1.1.1", None),
            ("8.8.8.8", None),
            ("11.0.0.1", None),
            ("100.63.255.255", None),
            ("100.128.0.0", None),
            ("172.15.255.255", None),
            ("172.32.0.0", None),
            ("169.253.255.255", None),
            ("192.167.255.255", None),
            ("198.20.0.0", None),
            ("223.255.255.255", None),
            // IPv6
            ("::", Some(Unspecified)),
            ("::1", Some(Loopback)),
            ("fc00::1", Some(Private)),
            ("fd12:3456:789a::1", Some(Private)),
            ("fec0::1", Some(Private)),
            ("fe80::1", Some(LinkLocal)),
            ("febf::1", Some(LinkLocal)),
            ("ff02::1", Some(Multicast)),
            ("2001:db8::1", Some(Documentation)),
            ("3fff::1", Some(Documentation)),
            ("2001::1", Some(Reserved)),
            ("2001:2::1", Some(Reserved)),
            ("100::1", Some(Reserved)),
            ("64:ff9b:1::a00:1", Some(Reserved)),
            ("4000::1", Some(Reserved)),
            ("2606:4700:4700::1111", None),
            ("2a00:1450:4001::1", None),
            // IPv4-mapped: judged as the IPv4 address they are.
            ("::ffff:169.254.169.254", Some(LinkLocal)),
            ("::ffff:10.0.0.1", Some(Private)),
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("::ffff:0.0.0.0", Some(Unspecified)),
            ("::ffff:100.64.0.1", Some(Shared)),
            ("::ffff:8.8.8.8", None),
            // IPv4-compatible (deprecated): refused even when the IPv4 address is public.
            ("::169.254.169.254", Some(LinkLocal)),
            ("::10.0.0.1", Some(Private)),
            ("::127.0.0.1", Some(Loopback)),
            ("::8.8.8.8", Some(Reserved)),
            // NAT64 (well-known prefix) and 6to4: judged by the embedded IPv4 address.
            ("64:ff9b::a9fe:a9fe", Some(LinkLocal)),
            ("64:ff9b::10.0.0.1", Some(Private)),
            ("64:ff9b::808:808", None),
            ("2002:a9fe:a9fe::1", Some(LinkLocal)),
            ("2002:7f00:1::1", Some(Loopback)),
            ("2002:c0a8:101::1", Some(Private)),
            ("2002:808:808::1", None),
        ];
        for (addr, want) in table {
            assert_eq!(forbidden_range(ip(addr)), *want, "{addr}");
            // The default policy refuses exactly what is forbidden.
            assert_eq!(AddressPolicy::default().check(ip(addr)).err(), *want, "{addr}");
        }
    }

    #[test]
    fn allowed_ranges_open_only_themselves_and_their_mapped_forms() {
        let policy = AddressPolicy::new(vec![parse_net("127.0.0.0/8").unwrap(), parse_net("10.1.2.3").unwrap()]);
        for ok in [
            "127.0.0.1",
            "127.1.2.3",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "10.1.2.3",
            "8.8.8.8",
        ] {
            assert_eq!(policy.check(ip(ok)), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("::1", Forbidden::Loopback),
            ("10.1.2.4", Forbidden::Private),
            ("169.254.169.254", Forbidden::LinkLocal),
            ("::ffff:169.254.169.254", Forbidden::LinkLocal),
            ("2002:7f00:1::1", Forbidden::Loopback),
        ] {
            assert_eq!(policy.check(ip(bad)), Err(why), "{bad}");
        }
        let dev = AddressPolicy::new(loopback());
        assert_eq!(dev.check(ip("::1")), Ok(()));
        assert_eq!(dev.check(ip("192.168.0.1")), Err(Forbidden::Private));
    }

    #[test]
    fn a_resolved_host_keeps_only_its_allowed_addresses() {
        let sock = |s: &str| SocketAddr::new(ip(s), 443);
        let policy = AddressPolicy::new(vec![parse_net("127.0.0.0/8").unwrap()]);
        assert_eq!(
            policy.admit([sock("::1"), sock("127.0.0.1"), sock("10.0.0.1"), sock("8.8.8.8")]),
            Ok(vec![sock("127.0.0.1"), sock("8.8.8.8")])
        );
        assert_eq!(policy.admit([sock("10.0.0.1"), sock("::1")]), Err(Refused));
        assert_eq!(policy.admit([]), Err(Refused));
    }

    #[test]
    fn ip_literal_urls_are_checked_before_sending() {
        let policy = AddressPolicy::default();
        for refused in [
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.1/",
            "https://[::ffff:169.254.169.254]/",
            "https://[::ffff:a9fe:a9fe]/",
            "http://127.0.0.1:8080/hook",
            "http://0x7f.1/hook",
            "http://2130706433/hook",
            "https://[fe80::1]/",
            "not a url",
        ] {
            assert_eq!(policy.check_literal(refused), Err(Refused), "{refused}");
        }
        // Host names are the resolver's to check.
        for passed in [
            "https://8.8.8.8/",
            "https://[2606:4700:4700::1111]/",
            "https://shop.example/hook",
            "http://localhost/",
        ] {
            assert_eq!(policy.check_literal(passed), Ok(()), "{passed}");
        }
    }

    #[tokio::test]
    async fn localhost_names_resolve_to_loopback_without_dns() {
        let refusing = AddressPolicy::default();
        for host in ["localhost", "LOCALHOST.", "api.localhost"] {
            assert!(
                matches!(refusing.resolve(host, 80).await, Err(ResolveError::Refused(Refused))),
                "{host}"
            );
        }
        let v4_only = AddressPolicy::new(vec![parse_net("127.0.0.0/8").unwrap()]);
        assert_eq!(
            v4_only.resolve("localhost", 8080).await.unwrap(),
            vec![SocketAddr::new(ip("127.0.0.1"), 8080)]
        );
    }

    #[tokio::test]
    async fn special_use_names_are_accepted_at_registration_and_never_looked_up() {
        assert!(is_special_use("shop.example") && is_special_use("A.TEST.") && is_special_use("x.invalid"));
        assert!(!is_special_use("example.com") && !is_special_use("testing.org") && !is_special_use("localhost"));
        let policy = AddressPolicy::default();
        // No DNS query: the answer is immediate and names the reason.
        let err = lookup("hooks.shop.example", 443).await.unwrap_err();
        assert!(err.to_string().contains("special-use"), "{err}");
        assert!(matches!(
            policy.resolve("hooks.shop.example", 443).await,
            Err(ResolveError::Lookup(_))
        ));
        policy
            .check_registration("url", "https://hooks.shop.example/payin")
            .await
            .expect("a name that cannot be judged is checked at delivery");
    }

    #[tokio::test]
    async fn registration_refuses_non_public_hosts_naming_the_field() {
        let policy = AddressPolicy::default();
        for url in [
            "https://169.254.169.254/",
            "https://10.0.0.1/",
            "https://[::ffff:169.254.169.254]/",
            "https://[::ffff:10.0.0.1]/",
            "http://127.0.0.1:9000/hook",
            "http://localhost:9000/hook",
            "http://api.localhost/hook",
        ] {
            match policy.check_registration("url", url).await {
                Err(Error::Invalid { field, message, .. }) => {
                    assert_eq!(field, "url", "{url}");
                    assert!(message.contains("allow_private"), "{message}");
                }
                other => panic!("{url}: {other:?}"),
            }
        }
        let dev = AddressPolicy::new(loopback());
        assert!(
            dev.check_registration("url", "http://localhost:9000/hook")
                .await
                .is_ok()
        );
        // localhost is 127.0.0.1 and ::1; one allowed address is enough to deliver to.
        let v4_only = AddressPolicy::new(vec![parse_net("127.0.0.0/8").unwrap()]);
        assert!(
            v4_only
                .check_registration("url", "http://localhost:9000/hook")
                .await
                .is_ok()
        );
        assert!(
            dev.check_registration("url", "http://127.0.0.1:9000/hook")
                .await
                .is_ok()
        );
        assert!(dev.check_registration("url", "https://10.0.0.1/").await.is_err());
    }

    #[test]
    fn allow_private_accepts_cidrs_and_addresses_and_names_bad_entries() {
        assert_eq!(parse_net("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_net(" 10.1.2.3 ").unwrap().to_string(), "10.1.2.3/32");
        assert_eq!(parse_net("fd00::/8").unwrap().to_string(), "fd00::/8");
        let err = parse_net("10.0.0.0/33").unwrap_err();
        assert!(err.contains("10.0.0.0/33"), "{err}");
        assert!(parse_net("intranet").is_err());
    }

    #[test]
    fn refusals_read_the_same_whatever_the_address() {
        let text = Refused.to_string();
        assert!(!text.contains("connect") && !text.contains("timed out"), "{text}");
        /// How reqwest and hyper wrap a resolver's error: as the source of their own.
        #[derive(Debug)]
        struct Wrapped(Box<dyn std::error::Error + Send + Sync>);
        impl fmt::Display for Wrapped {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("dns error")
            }
        }
        impl std::error::Error for Wrapped {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(self.0.as_ref())
            }
        }
        assert!(is_refusal(&Wrapped(Box::new(Wrapped(Box::new(Refused))))));
        assert!(!is_refusal(&Wrapped(Box::new(std::io::Error::other("no such host")))));
    }
}
