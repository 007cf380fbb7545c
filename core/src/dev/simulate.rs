//! Payments on the dev chain, made on request: `payin dev pay`, the REST `/dev/…` routes and
//! the MCP `simulate_payment` / `mine_blocks` tools all come here. Nothing is faked: the payer
//! account of the chain `payin dev` started sends a real ERC-20 transfer, and the watcher finds
//! it like any other payment.
//!
//! Only the dev chains can be paid on — [`DEV_CHAIN_ID`] and the Tron-shaped
//! [`DEV_TRON_CHAIN_ID`] (whose payer pays on the anvil behind the Tron node test double, with
//! `T…` addresses shown) — and only while they run; otherwise [`Error::DevChainUnavailable`].

use alloy::primitives::{Address, U256};

use super::devnet::{DEV_CHAIN_ID, DevChain, DevnetError};
use super::tron_double::{DEV_TRON_CHAIN_ID, payer_url};
use crate::amount::{Amount, AmountUnits};
use crate::chain::evm::AddressFormat;
use crate::chain::{Currency, Network, Protocol, normalize_address};
use crate::engine::Engine;
use crate::error::{Error, Result};

pub use payin_types::simulate::*;

/// Checks the request's shape; the order itself is looked up by the caller.
pub(crate) fn parse_request(req: &SimulatePaymentRequest) -> Result<(Payee, Option<Currency>)> {
    let scenario = req
        .scenario
        .as_deref()
        .map(|s| PaymentScenario::parse("scenario", s))
        .transpose()?;
    let amount = req
        .amount
        .as_deref()
        .map(|a| Amount::parse_positive("amount", a))
        .transpose()?;
    let currency = req
        .currency
        .as_deref()
        .map(|c| Currency::parse("currency", &c.to_ascii_uppercase()))
        .transpose()?;
    let payee = match (&req.order_id, &req.address) {
        (Some(_), Some(_)) => {
            return Err(Error::validation("address", "give either orderId or address, not both"));
        }
        (None, None) => {
            return Err(Error::validation(
                "orderId",
                "orderId is required (or address, to pay a deposit address)",
            ));
        }
        (Some(id), None) => Payee::Order {
            order_id: id.clone(),
            scenario: scenario.unwrap_or_default(),
            amount,
        },
        (None, Some(address)) => {
            if scenario.is_some_and(|s| s != PaymentScenario::Exact) {
                return Err(Error::validation(
                    "scenario",
                    "scenario applies to orders; to pay an address give the amount",
                ));
            }
            let Some(amount) = amount else {
                return Err(Error::invalid(
                    crate::error::InvalidCode::Amount,
                    "amount",
                    "amount is required when paying an address",
                ));
            };
            // A `T…` address is paid on the Tron-shaped dev chain, a `0x…` one on chain local.
            let address = normalize_address(Protocol::Evm, address)
                .or_else(|evm| normalize_address(Protocol::Tron, address).map_err(|_| evm))
                .map_err(|e| {
                    Error::validation(
                        "address",
                        format!("address: {e} (pay a 0x… address on chain local, a T… address on chain local-tron)"),
                    )
                })?;
            Payee::Address { address, amount }
        }
    };
    Ok((payee, currency))
}

/// Whom a simulated payment pays, and how much when the request says so.
pub(crate) enum Payee {
    /// The order's address; `amount` overrides what the scenario would send.
    Order {
        order_id: String,
        scenario: PaymentScenario,
        amount: Option<Amount>,
    },
    Address {
        address: String,
        amount: Amount,
    },
}

/// The amount a scenario sends, in base units of a token with `decimals` places.
pub fn scenario_units(scenario: PaymentScenario, order_units: U256) -> Result<U256> {
    match scenario {
        PaymentScenario::Exact | PaymentScenario::Late => Ok(order_units),
        PaymentScenario::Partial if order_units < U256::from(2u8) => Err(Error::validation(
            "scenario",
            "the order's amount is one base unit; it cannot be paid partially",
        )),
        PaymentScenario::Partial => Ok(order_units / U256::from(2u8)),
        PaymentScenario::Over => {
            let tenth = (order_units / U256::from(10u8)).max(U256::from(1u8));
            Ok(order_units.saturating_add(tenth))
        }
    }
}

/// The dev chain as the registry knows it, connected as its payer; [`Error::DevChainUnavailable`]
/// when the registry has no RPC URL for it. On `local-tron` the payer pays on the anvil behind
/// the Tron node test double (a Tron node takes no Ethereum-signed transaction).
pub(crate) fn connect(network: Option<&Network>) -> Result<(DevChain, &Network)> {
    let network = network.ok_or_else(|| not_running("the dev chain is not configured"))?;
    let id = &network.id;
    let rpc_url = network
        .rpc_urls
        .first()
        .ok_or_else(|| not_running(&format!("chain '{id}' has no RPC URL")))?;
    let payer_rpc = match network.protocol {
        Protocol::Evm => rpc_url.clone(),
        Protocol::Tron => payer_url(rpc_url)
            .ok_or_else(|| not_running(&format!("chain '{id}' is not the Tron-shaped dev chain of `payin dev`")))?,
    };
    let chain = DevChain::connect(&payer_rpc).map_err(|e| not_running(&e.to_string()))?;
    Ok((chain, network))
}

/// The token contract of `currency` on the dev chain (configured `0x…` or `T…`).
pub(crate) fn token_contract(network: &Network, currency: Currency) -> Result<(Address, u8)> {
    let id = &network.id;
    let token = network
        .token(currency)
        .ok_or_else(|| not_running(&format!("no {currency} token on chain '{id}'")))?;
    let contract = token
        .contract
        .as_deref()
        .ok_or_else(|| not_running(&format!("no {currency} contract recorded for chain '{id}'")))?;
    let address = AddressFormat::of(network.protocol)
        .parse(contract)
        .ok_or_else(|| Error::Internal(format!("recorded {currency} contract {contract:?} is not an address")))?;
    Ok((address, token.decimals))
}

/// The dev chain a payment to `address` goes to: `local-tron` for a `T…` address.
fn dev_chain_of(address: &str) -> &'static str {
    if address.starts_with('T') {
        DEV_TRON_CHAIN_ID
    } else {
        DEV_CHAIN_ID
    }
}

pub(crate) fn not_running(why: &str) -> Error {
    Error::DevChainUnavailable(format!(
        "{why}: simulated payments need the local chain of `payin dev`: start `payin dev` with the same database first"
    ))
}

/// What a [`crate::Gateway`] built without dev support of its own answers to the dev methods.
pub fn not_built() -> Error {
    Error::DevChainUnavailable("this gateway was built without dev chain support (cargo feature `dev`)".to_string())
}

/// A failure talking to the dev chain, told as it is: a chain that did not answer (most
/// likely `payin dev` has stopped) or one that answered with a refusal.
pub(crate) fn rpc_failed(e: DevnetError) -> Error {
    match e {
        DevnetError::Refused(why) => Error::DevChainUnavailable(format!("the local chain refused the payment: {why}")),
        e => Error::DevChainUnavailable(format!(
            "the local chain did not answer ({e}); is `payin dev` still running?"
        )),
    }
}

impl Engine {
    /// Sends a real payment on the dev chain: to an order's address (the scenario decides the
    /// amount, unless one is given) or to any address. Waits until it is mined; the watcher
    /// then finds it like any other transfer.
    pub async fn simulate_payment(&self, req: SimulatePaymentRequest) -> Result<SimulatedPayment> {
        let (payee, currency) = parse_request(&req)?;
        // The order (with its scenario), or the address and amount to pay.
        let (order, to, amount) = match payee {
            Payee::Order {
                order_id,
                scenario,
                amount,
            } => {
                let order = self.get_order(&order_id).await?;
                if order.chain_id != DEV_CHAIN_ID && order.chain_id != DEV_TRON_CHAIN_ID {
                    return Err(Error::validation(
                        "orderId",
                        format!(
                            "order {} is on chain '{}'; payments can only be simulated on the dev chains \
                             '{DEV_CHAIN_ID}' and '{DEV_TRON_CHAIN_ID}'",
                            order.order_id, order.chain_id
                        ),
                    ));
                }
                let to = order.address.clone();
                (Some((order, scenario)), to, amount)
            }
            Payee::Address { address, amount } => (None, address, Some(amount)),
        };
        let chain_id = match &order {
            Some((o, _)) => o.chain_id.clone(),
            None => dev_chain_of(&to).to_string(),
        };
        let network = self.current_dev_network(&chain_id).await?;
        let (chain, network) = connect(network.as_ref())?;
        let format = AddressFormat::of(network.protocol);
        let currency = currency
            .or(order.as_ref().map(|(o, _)| o.currency))
            .unwrap_or(Currency::Usdt);
        let (contract, decimals) = token_contract(network, currency)?;
        let units = match (amount, &order) {
            (Some(amount), _) => {
                amount.check_precision("amount", decimals, currency.as_str())?;
                amount
                    .to_base_units(decimals)
                    .ok_or_else(|| Error::validation("amount", "amount does not fit in a uint256"))?
            }
            (None, Some((order, scenario))) => {
                // What the payer must send: a shared-address order's tail included.
                let order_units = order.pay_amount.to_base_units(decimals).ok_or_else(|| {
                    Error::validation(
                        "currency",
                        format!(
                            "the order's amount {} is not payable in {currency} ({decimals} decimals)",
                            order.pay_amount
                        ),
                    )
                })?;
                scenario_units(*scenario, order_units)?
            }
            (None, None) => unreachable!("an address payee always has its amount"),
        };
        let sent_amount = Amount::from_base_units(units, decimals)
            .ok_or_else(|| Error::validation("amount", "amount is too large"))?;
        let recipient = format
            .parse(&to)
            .ok_or_else(|| Error::Internal(format!("address {to:?} is not an address of chain '{chain_id}'")))?;

        if let Some((order, PaymentScenario::Late)) = &order {
            // Mined one second after the grace period ends, whatever the wall clock says.
            let latest = chain.latest_block_time().await.map_err(rpc_failed)?;
            let at = (order.grace_ends_at().timestamp() + 1).max(latest as i64 + 1);
            chain.set_next_block_time(at as u64).await.map_err(rpc_failed)?;
        }
        // More than the payer holds is the request's fault, not the chain's: say so.
        let held = chain.balance_of(contract, chain.payer()).await.map_err(rpc_failed)?;
        if held < units {
            let held = Amount::from_base_units(held, decimals).map_or_else(|| held.to_string(), |a| a.to_string());
            return Err(Error::validation(
                "amount",
                format!("the dev payer holds {held} {currency}, less than the {sent_amount} to send"),
            ));
        }
        let sent = chain.transfer(contract, recipient, units).await.map_err(rpc_failed)?;
        let block_time = chain.block_time(sent.block_number).await.map_err(rpc_failed)?;
        let scenario = order.as_ref().map(|(_, s)| *s);
        Ok(SimulatedPayment {
            order_id: order.map(|(o, _)| o.order_id),
            scenario,
            chain_id,
            from: format.render(chain.payer()),
            to,
            currency,
            amount: sent_amount,
            tx_hash: sent.tx_hash.to_string(),
            block_number: sent.block_number,
            block_time: crate::time::from_millis(block_time as i64 * 1000),
        })
    }

    /// Mines empty blocks on the dev chain, e.g. to confirm a pending deposit.
    pub async fn mine_blocks(&self, req: MineBlocksRequest) -> Result<MinedBlocks> {
        let blocks = req.blocks.unwrap_or(1);
        if !(1..=MAX_MINE_BLOCKS).contains(&blocks) {
            return Err(Error::validation(
                "blocks",
                format!("blocks must be between 1 and {MAX_MINE_BLOCKS}"),
            ));
        }
        let network = self.current_dev_network(DEV_CHAIN_ID).await?;
        let (chain, _) = connect(network.as_ref())?;
        chain.mine(blocks).await.map_err(rpc_failed)?;
        Ok(MinedBlocks {
            chain_id: DEV_CHAIN_ID.to_string(),
            blocks_mined: blocks,
            block_number: chain.block_number().await.map_err(rpc_failed)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_pay_the_documented_share_of_the_order() {
        let units = U256::from(10_000_000u64); // 10.00 USDT
        assert_eq!(scenario_units(PaymentScenario::Exact, units).unwrap(), units);
        assert_eq!(scenario_units(PaymentScenario::Late, units).unwrap(), units);
        assert_eq!(
            scenario_units(PaymentScenario::Partial, units).unwrap(),
            U256::from(5_000_000u64)
        );
        assert_eq!(
            scenario_units(PaymentScenario::Over, units).unwrap(),
            U256::from(11_000_000u64)
        );
        assert_eq!(
            scenario_units(PaymentScenario::Over, U256::from(5u8)).unwrap(),
            U256::from(6u8)
        );
        assert!(scenario_units(PaymentScenario::Partial, U256::from(1u8)).is_err());
    }

    #[test]
    fn requests_name_the_field_at_fault() {
        let field = |req: SimulatePaymentRequest| match parse_request(&req) {
            Err(Error::Invalid { field, .. }) => field,
            Err(e) => panic!("{e:?}"),
            Ok(_) => panic!("accepted"),
        };
        assert_eq!(field(SimulatePaymentRequest::default()), "orderId");
        let both = SimulatePaymentRequest {
            order_id: Some("ord_x".into()),
            address: Some("0x0000000000000000000000000000000000000001".into()),
            ..Default::default()
        };
        assert_eq!(field(both), "address");
        let no_amount = SimulatePaymentRequest {
            address: Some("0x0000000000000000000000000000000000000001".into()),
            ..Default::default()
        };
        assert_eq!(field(no_amount), "amount");
        let bad_scenario = SimulatePaymentRequest {
            order_id: Some("ord_x".into()),
            scenario: Some("twice".into()),
            ..Default::default()
        };
        assert_eq!(field(bad_scenario), "scenario");
        let bad_address = SimulatePaymentRequest {
            address: Some("0x12".into()),
            amount: Some("1".into()),
            ..Default::default()
        };
        assert_eq!(field(bad_address), "address");
        let bad_amount = SimulatePaymentRequest {
            order_id: Some("ord_x".into()),
            amount: Some("-1".into()),
            ..Default::default()
        };
        assert_eq!(field(bad_amount), "amount");
    }
}
