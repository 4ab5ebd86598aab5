//! The profession list (ISCO-08), held in memory: it changes rarely and every sign-up
//! checks against it.

use std::{collections::HashMap, sync::Arc};

use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use serde::Serialize;

use crate::{Result, entities::profession};

#[derive(Debug, Clone, Serialize)]
pub struct Profession {
    pub code: String,
    pub title: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProfessionGroup {
    pub code: String,
    pub title: String,
    pub professions: Vec<Profession>,
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Selectable 4-digit unit groups, by code.
    by_code: HashMap<String, Profession>,
    /// Unit groups grouped under their major group, for the form's `<optgroup>`s.
    groups: Arc<Vec<ProfessionGroup>>,
}

impl Catalog {
    pub async fn load(db: &impl ConnectionTrait) -> Result<Self> {
        let rows = profession::Entity::find()
            .order_by_asc(profession::Column::Code)
            .all(db)
            .await?;
        let title = |row: &profession::Model| row.custom_title.clone().unwrap_or(row.title.clone());
        let mut groups: Vec<ProfessionGroup> = rows
            .iter()
            .filter(|row| row.level == 1)
            .map(|row| ProfessionGroup {
                code: row.code.clone(),
                title: title(row),
                professions: Vec::new(),
            })
            .collect();
        let mut by_code = HashMap::new();
        for row in rows.iter().filter(|row| row.level == 4 && !row.hidden) {
            let profession = Profession {
                code: row.code.clone(),
                title: title(row),
            };
            if let Some(group) = groups.iter_mut().find(|g| row.code.starts_with(&g.code)) {
                group.professions.push(profession.clone());
            }
            by_code.insert(row.code.clone(), profession);
        }
        groups.retain(|g| !g.professions.is_empty());
        for group in &mut groups {
            group.professions.sort_by(|a, b| a.title.cmp(&b.title));
        }
        Ok(Self {
            by_code,
            groups: Arc::new(groups),
        })
    }

    pub fn contains(&self, code: &str) -> bool {
        self.by_code.contains_key(code)
    }

    pub fn get(&self, code: &str) -> Option<&Profession> {
        self.by_code.get(code)
    }

    pub fn groups(&self) -> &[ProfessionGroup] {
        &self.groups
    }

    pub fn len(&self) -> usize {
        self.by_code.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_code.is_empty()
    }
}
