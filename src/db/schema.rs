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
diesel::allow_tables_to_appear_in_same_query!(documents, goals, goal_serves);
