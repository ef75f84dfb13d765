//! Region Västernorrland's system of record for its international work.

pub mod access;
pub mod activities;
pub mod app;
pub mod as_of;
pub mod audit;
pub mod auth;
pub mod cache;
pub mod changes;
pub mod config;
pub mod crud;
pub mod db;
pub mod decisions;
pub mod demo;
pub mod documents;
pub mod error;
pub mod evaluations;
pub mod feed;
pub mod goals;
pub mod http;
pub mod idempotency;
pub mod links;
pub mod logsink;
pub mod memberships;
pub mod metrics;
pub mod model;
pub mod openapi;
pub mod organisations;
pub mod pagination;
pub mod programmes;
pub mod projects;
pub mod reports;
pub mod responses;
pub mod seed;
pub mod state;

pub use app::Application;
