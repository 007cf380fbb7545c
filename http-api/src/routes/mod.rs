pub mod chains;
// Issue 12: payment links (REST) and their public checkout page.
pub mod checkout;
// Issue 13: merchant credentials of the compatible APIs (HashNut, QieJiao).
pub mod compat;
pub mod config;
pub mod deposits;
#[cfg(feature = "dev")]
pub mod dev;
pub mod events;
pub mod health;
pub mod orders;
pub mod pay;
pub mod payment_links;
pub mod pool;
pub mod webhooks;
