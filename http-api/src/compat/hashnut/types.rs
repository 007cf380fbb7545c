//! HashNut v3's wire types: the `{code, msg, data}` envelope and the bodies of its two calls.

use serde::Serialize;
use serde_json::value::RawValue;

/// HashNut's envelope: `code` 0 and `msg` "success" with `data`, or an error code with
/// `data: null`.
#[derive(Debug, Serialize)]
pub struct Envelope<T: Serialize> {
    pub code: i32,
    pub msg: String,
    pub data: Option<T>,
}

impl<T: Serialize> Envelope<T> {
    pub fn success(data: T) -> Envelope<T> {
        Envelope {
            code: 0,
            msg: "success".into(),
            data: Some(data),
        }
    }
}

/// `data` of `createPayOrderOnSplitWalletWithApiKey`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedPayOrder {
    pub pay_order_id: String,
    pub access_sign: String,
    pub merchant_order_id: String,
}

/// `data` of `queryPayOrderWithAccessSign`: every field of the seed. Amounts are JSON numbers
/// written from the exact decimal (never through f64).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PayOrder {
    pub merchant_address: String,
    pub chain: String,
    pub chain_code: String,
    pub coin_code: String,
    pub create_channel: i32,
    pub access_channel: i32,
    pub merchant_order_id: String,
    pub pay_order_id: String,
    pub token_address: Option<String>,
    pub receipt_address: String,
    pub amount: Box<RawValue>,
    pub state: i32,
    pub access_sign: String,
    pub pay_tx_id: Option<String>,
    pub confirm_count: String,
    pub wallet_connect_enable: bool,
    pub bridge_server_address: String,
    #[serde(rename = "eip712ChainId")]
    pub eip712_chain_id: Option<String>,
    pub chain_id: Option<String>,
    pub call_back_url: Option<String>,
    pub create_time: String,
    pub rate: Box<RawValue>,
    pub obtain_amount: Box<RawValue>,
    pub platform_fee: Box<RawValue>,
}

/// A decimal as a JSON number, digit for digit.
pub fn number(decimal: &str) -> Box<RawValue> {
    RawValue::from_string(decimal.to_string()).unwrap_or_else(|_| RawValue::from_string("0".into()).expect("0 is JSON"))
}
