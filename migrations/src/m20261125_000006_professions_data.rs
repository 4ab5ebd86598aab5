//! Loads the ISCO-08 classification (shipped in `migrations/data/isco08.csv`) into
//! `professions`. The 4-digit unit groups are the professions candidates choose from;
//! shorter codes keep the hierarchy for grouping.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const ISCO08: &str = include_str!("../data/isco08.csv");

#[derive(serde::Deserialize)]
struct Row {
    code: String,
    level: i16,
    title: String,
}

fn rows() -> Result<Vec<Row>, DbErr> {
    csv::Reader::from_reader(ISCO08.as_bytes())
        .deserialize()
        .collect::<Result<Vec<Row>, _>>()
        .map_err(|e| DbErr::Custom(format!("isco08.csv: {e}")))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let rows = rows()?;
        for chunk in rows.chunks(200) {
            let mut insert = Query::insert();
            insert.into_table("professions").columns([
                "code",
                "level",
                "title",
                "parent_code",
                "hidden",
            ]);
            for row in chunk {
                let parent =
                    (row.code.len() > 1).then(|| row.code[..row.code.len() - 1].to_owned());
                insert.values_panic([
                    row.code.clone().into(),
                    row.level.into(),
                    row.title.clone().into(),
                    parent.into(),
                    false.into(),
                ]);
            }
            manager.exec_stmt(insert.take()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .exec_stmt(Query::delete().from_table("professions").take())
            .await
    }
}
