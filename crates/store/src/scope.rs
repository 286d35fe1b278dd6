//! The domain [`Scope`] as query conditions. Every read path filters through here.

use anjian_domain::Scope;
use sea_orm::sea_query::{Expr, ExprTrait, Query, SimpleExpr};
use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;

use crate::entity::enterprise;

fn nothing() -> Condition {
    Condition::all().add(Expr::val(1).eq(0))
}

/// Rows of `enterprises` the scope sees.
pub fn enterprises(scope: &Scope) -> Condition {
    match scope {
        Scope::All => Condition::all(),
        Scope::Villages(v) if v.is_empty() => nothing(),
        Scope::Villages(v) => {
            Condition::all().add(enterprise::Column::VillageId.is_in(v.iter().copied()))
        }
        Scope::Enterprise(e) => Condition::all().add(enterprise::Column::Id.eq(*e)),
        Scope::Nothing => nothing(),
    }
}

/// Rows of any table with an `enterprise_id` column the scope sees.
pub fn by_enterprise<C: ColumnTrait>(scope: &Scope, enterprise_col: C) -> Condition {
    match scope {
        Scope::All => Condition::all(),
        Scope::Villages(v) if v.is_empty() => nothing(),
        Scope::Villages(v) => {
            let sub = Query::select()
                .column(enterprise::Column::Id)
                .from(enterprise::Entity)
                .and_where(enterprise::Column::VillageId.is_in(v.iter().copied()))
                .to_owned();
            Condition::all().add(enterprise_col.in_subquery(sub))
        }
        Scope::Enterprise(e) => Condition::all().add(enterprise_col.eq(*e)),
        Scope::Nothing => nothing(),
    }
}

/// Rows of `photos` a viewer sees: the mirror of
/// [`anjian_domain::photo::Viewer::sees`] as a condition.
pub fn photos(v: &anjian_domain::photo::Viewer<'_>) -> Condition {
    use crate::entity::photo;
    if v.sees_all() {
        return Condition::all();
    }
    let own_unattached = Condition::all()
        .add(photo::Column::OwnerId.is_null())
        .add(photo::Column::DeclaredBy.eq(v.user_id));
    let on_visible_record = Condition::all()
        .add(photo::Column::OwnerId.is_not_null())
        .add(by_enterprise(v.scope, photo::Column::EnterpriseId));
    Condition::any().add(own_unattached).add(on_visible_record)
}

/// A plain `id = ?` condition, used with one of the scope conditions above.
pub fn id_is<C: ColumnTrait>(col: C, id: Uuid) -> SimpleExpr {
    col.eq(id)
}
