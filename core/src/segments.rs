//! Segments: a named, saved pool filter. Its members are computed when asked, so its
//! count is always live.

use chrono::Utc;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ConnectionTrait, EntityTrait, QueryOrder,
};

use crate::{Error, Result, entities::segment, pool::Filter};

pub use segment::Model as Segment;

pub async fn create(
    db: &impl ConnectionTrait,
    name: &str,
    filter: &Filter,
    created_by: Option<i64>,
) -> Result<Segment> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::Invalid(
            "a segment needs a name of 1 to 200 characters".into(),
        ));
    }
    let now = Utc::now();
    let id = segment::Entity::insert(segment::ActiveModel {
        id: NotSet,
        name: Set(name.to_owned()),
        filter: Set(serde_json::to_value(filter)?),
        created_by: Set(created_by),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec(db)
    .await?
    .last_insert_id;
    find(db, id)
        .await?
        .ok_or_else(|| Error::Invalid("segment vanished after insert".into()))
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<Segment>> {
    Ok(segment::Entity::find_by_id(id).one(db).await?)
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<Segment>> {
    Ok(segment::Entity::find()
        .order_by_asc(segment::Column::Name)
        .all(db)
        .await?)
}

pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<bool> {
    Ok(segment::Entity::delete_by_id(id)
        .exec(db)
        .await?
        .rows_affected
        == 1)
}

pub fn filter_of(segment: &Segment) -> Result<Filter> {
    Ok(serde_json::from_value(segment.filter.clone())?)
}
