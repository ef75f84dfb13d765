// The tables, declared for diesel; the SQL for each backend is under migrations/.

diesel::table! {
    app_settings (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    documents (id) {
        id -> Text,
        kind -> Text,
        title -> Text,
        description -> Nullable<Text>,
        status -> Text,
        document_number -> Nullable<Text>,
        document_version -> Nullable<Integer>,
        year -> Nullable<Integer>,
        applies_to -> Nullable<Text>,
        valid_from -> Nullable<Date>,
        case_officer -> Nullable<Text>,
        reviewer -> Nullable<Text>,
        process_owner -> Nullable<Text>,
        decision_body -> Nullable<Text>,
        decision_date -> Nullable<Date>,
        decision_reference -> Nullable<Text>,
        revision_of -> Nullable<Text>,
        superseded_by -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    goals (id) {
        id -> Text,
        document_id -> Text,
        parent_id -> Nullable<Text>,
        kind -> Text,
        code -> Nullable<Text>,
        title -> Text,
        description -> Nullable<Text>,
        position -> Integer,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    goal_serves (goal_id, serves_goal_id) {
        goal_id -> Text,
        serves_goal_id -> Text,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        at -> Timestamp,
        actor_sub -> Text,
        actor_roles -> Text,
        action -> Text,
        resource_type -> Text,
        resource_id -> Text,
        resource_version -> BigInt,
        before_data -> Nullable<Text>,
        after_data -> Nullable<Text>,
        request_id -> Nullable<Text>,
        correlation_id -> Nullable<Text>,
    }
}

diesel::table! {
    change_events (seq) {
        seq -> BigInt,
        at -> Timestamp,
        resource_type -> Text,
        resource_id -> Text,
        op -> Text,
        version -> BigInt,
        data -> Nullable<Text>,
    }
}

diesel::joinable!(goals -> documents (document_id));

diesel::table! {
    external_ids (resource_type, scheme, value) {
        resource_type -> Text,
        resource_id -> Text,
        scheme -> Text,
        value -> Text,
    }
}

diesel::table! {
    resource_links (resource_type, resource_id, rel, target) {
        resource_type -> Text,
        resource_id -> Text,
        rel -> Text,
        target -> Text,
        position -> Integer,
    }
}

diesel::table! {
    organisations (id) {
        id -> Text,
        name -> Text,
        short_name -> Nullable<Text>,
        kind -> Text,
        country -> Nullable<Text>,
        website -> Nullable<Text>,
        notes -> Nullable<Text>,
        source_updated_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    activities (id) {
        id -> Text,
        document_id -> Text,
        kind -> Text,
        title -> Text,
        description -> Nullable<Text>,
        responsible_unit -> Nullable<Text>,
        prioritised -> Bool,
        status -> Text,
        planned_start -> Nullable<Date>,
        planned_end -> Nullable<Date>,
        actual_start -> Nullable<Date>,
        actual_end -> Nullable<Date>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    official_contacts (id) {
        id -> Text,
        date -> Date,
        kind -> Text,
        title -> Text,
        organisation_id -> Nullable<Text>,
        counterpart -> Nullable<Text>,
        country -> Nullable<Text>,
        participants -> Text,
        purpose -> Nullable<Text>,
        follow_up -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    positions (id) {
        id -> Text,
        title -> Text,
        text -> Text,
        decision_body -> Text,
        decision_date -> Date,
        decision_reference -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    programmes (id) {
        id -> Text,
        name -> Text,
        fund -> Nullable<Text>,
        period -> Nullable<Text>,
        managing_authority -> Nullable<Text>,
        priorities -> Text,
        notes -> Nullable<Text>,
        source_updated_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    projects (id) {
        id -> Text,
        acronym -> Nullable<Text>,
        title -> Text,
        description -> Nullable<Text>,
        programme_id -> Nullable<Text>,
        call -> Nullable<Text>,
        specific_objective -> Nullable<Text>,
        status -> Text,
        region_role -> Text,
        total_budget_minor -> Nullable<BigInt>,
        total_budget_currency -> Nullable<Text>,
        eu_funding_minor -> Nullable<BigInt>,
        eu_funding_currency -> Nullable<Text>,
        cofinancing_rate_bp -> Nullable<Integer>,
        planned_start -> Nullable<Date>,
        planned_end -> Nullable<Date>,
        actual_start -> Nullable<Date>,
        actual_end -> Nullable<Date>,
        responsible_unit -> Nullable<Text>,
        notes -> Nullable<Text>,
        source_updated_at -> Nullable<Timestamp>,
        fund -> Nullable<Text>,
        intervention_field -> Nullable<Text>,
        project_url -> Nullable<Text>,
        title_en -> Nullable<Text>,
        summary_sv -> Nullable<Text>,
        summary_en -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    project_partners (project_id, organisation_id) {
        project_id -> Text,
        organisation_id -> Text,
        role -> Text,
        budget_minor -> Nullable<BigInt>,
        budget_currency -> Nullable<Text>,
        position -> Integer,
        country -> Nullable<Text>,
        nuts_code -> Nullable<Text>,
        legal_status -> Nullable<Text>,
        eu_funding_minor -> Nullable<BigInt>,
        eu_funding_currency -> Nullable<Text>,
    }
}

diesel::table! {
    memberships (id) {
        id -> Text,
        kind -> Text,
        organisation_id -> Text,
        role -> Nullable<Text>,
        representative -> Nullable<Text>,
        mandate -> Nullable<Text>,
        decision_body -> Nullable<Text>,
        decision_date -> Nullable<Date>,
        decision_reference -> Nullable<Text>,
        start_date -> Nullable<Date>,
        end_date -> Nullable<Date>,
        annual_fee_minor -> Nullable<BigInt>,
        annual_fee_currency -> Nullable<Text>,
        review_interval_months -> Integer,
        status -> Text,
        last_reviewed_on -> Nullable<Date>,
        next_review_due -> Date,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    report_backs (id) {
        id -> Text,
        membership_id -> Text,
        date -> Date,
        meeting -> Text,
        summary -> Text,
        reported_to -> Text,
        author -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    evaluations (id) {
        id -> Text,
        subject_type -> Text,
        subject_id -> Text,
        period_start -> Nullable<Date>,
        period_end -> Nullable<Date>,
        benefit_region -> Nullable<Integer>,
        benefit_organisation -> Nullable<Integer>,
        benefit_residents -> Nullable<Integer>,
        efficiency -> Nullable<Integer>,
        goal_fulfilment -> Text,
        findings -> Nullable<Text>,
        recommendation -> Nullable<Text>,
        status -> Text,
        decision_body -> Nullable<Text>,
        decision_date -> Nullable<Date>,
        decision_reference -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    activities,
    official_contacts,
    positions,
    programmes,
    projects,
    project_partners,
    memberships,
    report_backs,
    evaluations,
    external_ids,
    resource_links,
    documents,
    goals,
    goal_serves,
    audit_events,
    change_events,
    app_settings,
);

diesel::table! {
    idempotency_keys (caller_sub, idem_key) {
        caller_sub -> Text,
        idem_key -> Text,
        request_hash -> Text,
        status -> Nullable<Integer>,
        response_headers -> Nullable<Text>,
        response_body -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    decisions (id) {
        id -> Text,
        kind -> Text,
        body -> Text,
        date -> Date,
        year -> Integer,
        reference -> Text,
        summary -> Text,
        resource_type -> Text,
        resource_id -> Text,
        resource_version -> BigInt,
        recorded_at -> Timestamp,
    }
}
