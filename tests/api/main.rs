//! Black-box HTTP tests against the real server. Every test runs on SQLite, and on PostgreSQL
//! when `TEST_DATABASE_URL` is set (otherwise those runs are reported as ignored, not passed).

mod access;
mod activities;
mod auth;
mod bulk;
mod cli;
mod concurrency;
mod decided;
mod documents;
mod durability;
mod errors;
mod evaluations;
mod explain;
mod feed;
mod goals;
mod helpers;
mod hostile;
mod idempotency;
mod keys;
mod memberships;
mod official_contacts;
mod openapi;
mod organisations;
mod outage;
mod pipeline;
mod positions;
mod programmes;
mod projects;
mod replicas;
mod reports;
mod shipped;
mod sync;
mod traceability;
mod write_path;
mod yearly_cycle;

use helpers::{Backend, TestFn};
use libtest_mimic::{Arguments, Trial};

macro_rules! tests {
    ($($module:ident :: $name:ident),+ $(,)?) => {
        vec![$((concat!(stringify!($module), "::", stringify!($name)), (|app| Box::pin($module::$name(app))) as TestFn)),+]
    };
}

fn main() {
    let args = Arguments::from_args();
    let both: Vec<(&str, TestFn)> = tests![
        access::matrix_for_documents_and_goals,
        access::matrix_for_the_running_work,
        sync::nightly_resend_keeps_the_regions_work,
        sync::an_older_source_record_changes_nothing,
        sync::an_officers_edit_of_a_source_field_is_flagged,
        sync::partners_by_external_id,
        sync::a_batch_naming_one_record_twice_applies_both_in_order,
        sync::eu_project_fields_as_eu_systems_carry_them,
        auth::missing_and_malformed_tokens_get_401,
        auth::bad_tokens_get_401,
        auth::a_token_seen_before_still_expires,
        auth::token_without_role_gets_403,
        auth::control_characters_in_claims_get_401,
        auth::tokens_longer_than_jwt_max_ttl_get_401,
        keys::rs256_with_public_key,
        keys::es256_with_jwks,
        documents::create_get_and_conditional_get,
        documents::merge_patch_and_if_match,
        documents::delete_only_drafts,
        documents::lifecycle_propose_adopt_and_conflicts,
        documents::decision_authority,
        documents::revision_supersedes_original,
        documents::list_filters_and_pagination,
        documents::validation_names_fields,
        decided::document_steps_keep_each_decision_with_its_body,
        decided::a_document_keeps_its_kind,
        decided::what_the_board_decided_about_a_membership_stays_the_boards,
        decided::a_submitted_evaluation_is_the_boards,
        decided::an_adopted_action_plan_holds,
        decided::the_spec_states_the_access_table_of_the_domain,
        errors::unknown_routes_and_methods,
        errors::body_errors,
        errors::request_ids_are_the_services_own_and_the_clients_is_kept,
        errors::metrics_labels_stay_bounded,
        errors::security_headers,
        errors::health_and_docs,
        errors::metrics_in_prometheus_format,
        goals::tree_rules,
        goals::serves_rules,
        goals::adopted_goals_are_read_only,
        goals::list_and_delete,
        activities::crud_links_and_filters,
        activities::validation,
        projects::crud_money_partners_and_filters,
        projects::validation,
        projects::a_patch_checks_only_the_references_it_sets,
        projects::integrator_upsert,
        projects::no_stale_record_after_another_instance_writes,
        projects::render_cache_can_be_turned_off,
        projects::every_limit_gets_its_own_page,
        memberships::officers_prepare_the_board_decides,
        memberships::validation_and_end,
        memberships::report_backs,
        evaluations::lifecycle_and_membership_review,
        evaluations::validation,
        organisations::crud_and_validation,
        organisations::upsert_by_external_id,
        organisations::updated_since_pages_in_change_order,
        yearly_cycle::an_action_plan_covers_a_year_and_one_is_in_force,
        yearly_cycle::two_plans_of_a_year_adopted_at_once_leave_one_in_force,
        yearly_cycle::no_sequence_of_steps_puts_two_plans_of_a_year_in_force,
        yearly_cycle::next_year_starts_from_the_open_activities,
        official_contacts::crud_filters_and_validation,
        positions::the_board_records_positions_in_the_register,
        programmes::crud_and_validation,
        programmes::upsert_by_cci_keeps_the_regions_fields,
        programmes::projects_point_at_a_programme_and_its_objective,
        programmes::free_text_programmes_become_records,
        traceability::audit_trail_read_filters_and_refusals,
        traceability::audit_trail_and_register_are_append_only_in_the_database,
        traceability::decision_register,
        traceability::point_in_time_reads,
        reports::goal_fulfilment_rolls_up_the_goal_tree,
        reports::membership_reviews_due_on_a_date,
        reports::project_portfolio_sums_exactly_per_currency,
        reports::project_portfolio_sums_the_largest_amounts_exactly,
        reports::csv_text_is_quoted_and_defused_after_every_delimiter,
        reports::representatives_and_their_report_backs,
        explain::every_read_uses_an_index,
        explain::writes_keep_their_statements_prepared,
        explain::a_small_page_reads_with_statements_planned_once,
        feed::replay_rebuilds_the_current_state,
        feed::concurrent_writers_and_a_polling_reader,
        feed::cursors_are_checked_and_survive_restarts,
        concurrency::read_modify_write_clients_lose_nothing,
        concurrency::writes_sent_together_commit_or_fail_each_on_its_own,
        concurrency::a_cursor_walk_during_writes_skips_and_repeats_nothing,
        concurrency::checkpoints_follow_writes_and_stop_when_idle,
        concurrency::concurrent_upserts_of_one_external_id_create_once,
        concurrency::bulk_upserts_during_officers_edits_lose_nothing,
        bulk::projects_nightly_resend_is_quiet,
        bulk::refusals,
        idempotency::a_retry_replays_and_never_executes_twice,
        idempotency::concurrent_requests_with_one_key_execute_once,
        idempotency::the_scheme_in_any_case_names_one_caller,
        idempotency::a_key_replays_only_to_the_same_sub_and_roles,
        idempotency::keys_are_purged_after_24_hours,
        hostile::every_write_endpoint_refuses_hostile_bodies,
        hostile::metacharacters_round_trip_on_every_resource,
        hostile::control_characters_are_refused_naming_the_field,
        openapi::served_spec_matches_committed_file,
        openapi::every_operation_documents_security_and_errors,
        shipped::policy_2018_is_loaded_once,
        write_path::one_audit_and_one_change_event_per_change,
        write_path::failed_requests_leave_no_trace,
        write_path::swedish_and_special_text_round_trips,
        write_path::a_write_starts_from_the_record_it_last_wrote,
    ];
    let postgres_only: Vec<(&str, TestFn)> = tests![
        feed::a_commit_in_flight_holds_back_later_events,
        errors::database_outage_gives_503_and_recovers,
        replicas::two_instances_behave_as_one,
        replicas::three_instances_migrate_an_empty_database_once,
        outage::own_cluster_outage_under_load,
        cli::seed_demo_on_postgres_writes_batches_side_by_side,
        explain::postgres_random_page_cost_unless_set,
        pipeline::postgres_reads_skip_the_pool_and_agree_with_it,
        pipeline::postgres_gets_at_once_share_a_statement_and_each_gets_its_own,
        pipeline::postgres_list_pages_skip_the_pool_and_agree_with_it,
        pipeline::postgres_over_tls_reads_through_the_pool,
        pipeline::postgres_over_a_unix_socket_pipelines
    ];
    // The binary on its embedded default; nothing here depends on the backend.
    let binary: Vec<(&str, TestFn)> = tests![
        cli::startup_checks_and_token_subcommand,
        cli::sigterm_finishes_in_flight_requests,
        cli::access_lines_come_out_when_idle_and_before_exit,
        cli::seed_demo_is_marked_deterministic_and_careful,
        cli::healthcheck_subcommand,
        durability::sqlite_syncs_every_commit_unless_told_otherwise,
        cli::token_subcommand_obeys_max_ttl_and_warns_on_a_configured_secret,
        cli::a_500_is_logged_once_with_its_request_id,
        replicas::kill_9_under_write_load_loses_nothing_acknowledged
    ];

    let registered: Vec<&str> = both
        .iter()
        .chain(&postgres_only)
        .chain(&binary)
        .map(|(name, _)| *name)
        .collect();
    let unregistered = helpers::unregistered_tests(&registered);

    let pg = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .is_some();
    let mut trials = Vec::new();
    for (name, f) in both {
        trials.push(Trial::test(format!("sqlite::{name}"), move || {
            helpers::run(Backend::Sqlite, f)
        }));
        trials.push(
            Trial::test(format!("postgres::{name}"), move || {
                helpers::run(Backend::Postgres, f)
            })
            .with_ignored_flag(!pg),
        );
    }
    for (name, f) in postgres_only {
        trials.push(
            Trial::test(format!("postgres::{name}"), move || {
                helpers::run(Backend::Postgres, f)
            })
            .with_ignored_flag(!pg),
        );
    }
    for (name, f) in binary {
        trials.push(Trial::test(name.to_string(), move || {
            helpers::run(Backend::Sqlite, f)
        }));
    }
    // Every test function of this folder is in one of the lists above.
    trials.push(Trial::test(
        "registry::every_test_is_registered",
        move || {
            if unregistered.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "not registered in tests/api/main.rs: {}",
                    unregistered.join(", ")
                )
                .into())
            }
        },
    ));
    libtest_mimic::run(&args, trials).exit();
}
