pub mod chains;
pub mod config;
pub mod deposits;
pub mod events;
pub mod health;
pub mod orders;
pub mod pool;
pub mod webhooks;
