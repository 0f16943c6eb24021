//! The relevance test set: the articles of `fixtures/articles.toml` indexed in memory, and every
//! query of `fixtures/queries.toml` must find its article near the top. A new case is a new
//! `[[query]]` entry, not new code.

use hotline_kb::{ArticleDoc, ArticleIndex, Hit, Language, Query};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArticleFile {
    article: Vec<ArticleFixture>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArticleFixture {
    id: i64,
    language: String,
    category: String,
    tags: Vec<String>,
    title: String,
    body: String,
    #[serde(default)]
    quick_reply: bool,
    #[serde(default = "yes")]
    published: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryFile {
    query: Vec<QueryFixture>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryFixture {
    text: String,
    expect: i64,
    #[serde(default = "three")]
    top: usize,
    language: Option<String>,
}

fn three() -> usize {
    3
}

fn language(code: &str) -> Language {
    Language::from_code(code).unwrap_or_else(|| panic!("unknown language {code:?} in a fixture"))
}

fn fixture_articles() -> Vec<ArticleDoc> {
    let text = include_str!("fixtures/articles.toml");
    let file: ArticleFile = toml::from_str(text).expect("fixtures/articles.toml");
    file.article
        .into_iter()
        .map(|a| ArticleDoc {
            id: a.id,
            title: a.title,
            body: a.body,
            category: a.category,
            tags: a.tags,
            language: language(&a.language),
            quick_reply: a.quick_reply,
            published: a.published,
        })
        .collect()
}

fn fixture_index() -> ArticleIndex {
    let index = ArticleIndex::in_memory().expect("index");
    for article in fixture_articles() {
        index.upsert(&article).expect("upsert");
    }
    index.commit().expect("commit");
    index
}

fn describe(hits: &[Hit]) -> String {
    hits.iter()
        .take(5)
        .enumerate()
        .map(|(rank, hit)| {
            format!(
                "  {}. #{} {:.2} {}\n",
                rank + 1,
                hit.id,
                hit.score,
                hit.title
            )
        })
        .collect()
}

#[test]
fn the_fixtures_are_a_realistic_set() {
    let articles = fixture_articles();
    let chinese = articles
        .iter()
        .filter(|a| a.language == Language::Zh)
        .count();
    let english = articles.len() - chinese;
    assert!(
        (40..=60).contains(&articles.len()),
        "{} articles",
        articles.len()
    );
    assert!(
        chinese >= 20 && english >= 20,
        "{chinese} Chinese, {english} English"
    );
    let mut ids: Vec<i64> = articles.iter().map(|a| a.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), articles.len(), "article ids repeat");
}

#[test]
fn every_query_finds_its_article_near_the_top() {
    let index = fixture_index();
    let queries: QueryFile =
        toml::from_str(include_str!("fixtures/queries.toml")).expect("fixtures/queries.toml");
    assert!(queries.query.len() >= 30);
    let mut failures = String::new();
    for case in &queries.query {
        let mut query = Query::new(case.text.as_str());
        query.language = case.language.as_deref().map(language);
        query.limit = 5;
        let hits = index.search(&query).expect("search");
        let rank = hits.iter().position(|hit| hit.id == case.expect);
        if rank.is_none_or(|rank| rank >= case.top) {
            failures.push_str(&format!(
                "query {:?} (language {:?}): expected #{} in the top {}, got {}:\n{}",
                case.text,
                case.language,
                case.expect,
                case.top,
                rank.map_or("nothing".to_owned(), |r| format!("rank {}", r + 1)),
                describe(&hits)
            ));
        }
    }
    assert!(failures.is_empty(), "\n{failures}");
}

#[test]
fn drafts_are_left_out_unless_asked_for() {
    let index = fixture_index();
    let hits = index.search(&Query::new("信用卡年费新规")).expect("search");
    assert!(hits.iter().all(|hit| hit.id != 29), "\n{}", describe(&hits));
    let mut drafts_too = Query::new("信用卡年费新规");
    drafts_too.published_only = false;
    let hits = index.search(&drafts_too).expect("search");
    assert_eq!(
        hits.first().map(|hit| hit.id),
        Some(29),
        "\n{}",
        describe(&hits)
    );
}

#[test]
fn snippets_show_the_matching_part_of_the_body() {
    let index = fixture_index();
    let hits = index.search(&Query::new("过滤器堵塞")).expect("search");
    let hit = hits
        .iter()
        .find(|hit| hit.id == 14)
        .expect("the E3 article");
    assert!(hit.snippet.contains("过滤器"), "{}", hit.snippet);
}

#[test]
fn the_screen_pop_suggests_articles_by_need_tags() {
    let index = fixture_index();
    let tags = ["信用卡".to_owned(), "挂失".to_owned()];
    let hits = index.suggest_for_tags(&tags, None, 5).expect("suggest");
    // Both tags beat one; the draft (tag 信用卡) is left out.
    assert_eq!(
        hits.first().map(|hit| hit.id),
        Some(1),
        "\n{}",
        describe(&hits)
    );
    let ids: Vec<i64> = hits.iter().map(|hit| hit.id).collect();
    assert!(ids.contains(&3) && ids.contains(&4), "{ids:?}");
    assert!(!ids.contains(&29), "{ids:?}");

    let tags = ["Claim".to_owned(), " car-insurance ".to_owned()];
    let hits = index
        .suggest_for_tags(&tags, Some(Language::En), 3)
        .expect("suggest");
    assert_eq!(
        hits.first().map(|hit| hit.id),
        Some(52),
        "\n{}",
        describe(&hits)
    );
    assert_eq!(hits.len(), 3);
    assert!(!hits[0].snippet.is_empty());
}
