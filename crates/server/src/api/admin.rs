//! The administrators' control of the running center: `POST /api/v1/admin/reload` reads the
//! configuration file again and runs its routing and business hours without dropping a call
//! ([`crate::reload`]).

use axum::extract::State;
use axum::Json;
use hotline_store::Role;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::ApiState;
use crate::reload::{ReloadError, ReloadReport};

/// Reloads the configuration file: its queues, skills, agents, routing policies and business
/// hours run from now on, calls in progress keep going; the answer names the other sections
/// that changed, which only a restart applies. A file with errors is refused whole (422, every
/// problem with its line); one that removes, renames or reorders a queue, agent, skill,
/// not-ready reason or calendar is refused (409). Also done by SIGHUP to `hotline serve`.
#[utoipa::path(post, path = "/api/v1/admin/reload", tag = "admin",
    responses((status = 200, body = ReloadReport), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: admin.")]
pub async fn reload(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<ReloadReport>, ApiError> {
    caller.require(Role::Admin)?;
    let reloader = state.reload.as_ref().ok_or_else(|| {
        ApiError::unavailable(
            "this center was started without a configuration file (the demo): there is \
             nothing to reload",
        )
    })?;
    match reloader.reload().await {
        Ok(report) => Ok(Json(report)),
        Err(ReloadError::Invalid(diagnostics)) => {
            let field = diagnostics
                .0
                .first()
                .map_or_else(|| "(file)".to_string(), |d| d.field.clone());
            Err(ApiError::invalid(field, diagnostics.to_string()))
        }
        Err(error @ ReloadError::Refused(_)) => Err(ApiError::conflict(error.to_string())),
        Err(error @ ReloadError::Unavailable) => Err(ApiError::unavailable(error.to_string())),
        Err(error @ ReloadError::Read(_)) => Err(ApiError::internal(error.to_string())),
    }
}
